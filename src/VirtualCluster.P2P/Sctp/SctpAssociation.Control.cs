using System.Buffers.Binary;
using System.Security.Cryptography;

namespace VirtualCluster.P2P.Sctp;

/// <summary>Heartbeats (RFC 9260 §8.3) and graceful shutdown (§9.2).</summary>
public sealed partial class SctpAssociation
{
    private bool _heartbeatOutstanding, _resetWanted;
    private ulong _heartbeatNonce;

    private void OnHeartbeatTimer()
    {
        if (_state != AssocState.Established) return;
        if (_heartbeatOutstanding && ++_errorCount > _options.MaxRetransmissions)
        {
            Terminate($"the peer stopped answering: {_options.MaxRetransmissions} heartbeats went unanswered", sendAbort: true, abortReason: "heartbeats unanswered");
            return;
        }
        if (_ringCount == 0 || _heartbeatOutstanding)
        {
            // Idle (or already probing): probe the path. With data outstanding, T3 is the failure detector.
            _heartbeatNonce = BinaryPrimitives.ReadUInt64BigEndian(RandomNumberGenerator.GetBytes(8));
            var w = NewPacket();
            var v = w.BeginChunk(ChunkType.Heartbeat, 0);
            BinaryPrimitives.WriteUInt16BigEndian(v, ParamType.HeartbeatInfo);
            BinaryPrimitives.WriteUInt16BigEndian(v[2..], 20);
            BinaryPrimitives.WriteInt64BigEndian(v[4..], _time.GetTimestamp());
            BinaryPrimitives.WriteUInt64BigEndian(v[12..], _heartbeatNonce);
            w.EndChunk(20);
            SendPacket(w);
            _heartbeatOutstanding = true;
        }
        var interval = _heartbeatOutstanding ? Min(_options.HeartbeatInterval, Rto) : _options.HeartbeatInterval;
        _heartbeatTimer.Change(interval, Timeout.InfiniteTimeSpan);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private void HandleHeartbeatAck(ReadOnlySpan<byte> v)
    {
        if (v.Length < 20 || BinaryPrimitives.ReadUInt16BigEndian(v) != ParamType.HeartbeatInfo) return;
        if (HandleProbeAck(v)) return;
        if (!_heartbeatOutstanding || BinaryPrimitives.ReadUInt64BigEndian(v[12..]) != _heartbeatNonce) return;
        _heartbeatOutstanding = false;
        _errorCount = 0;
        MeasureRtt(_time.GetTimestamp() - BinaryPrimitives.ReadInt64BigEndian(v[4..]));
        _heartbeatTimer.Change(_options.HeartbeatInterval, Timeout.InfiniteTimeSpan);
    }

    private void SendHeartbeatAck(ReadOnlySpan<byte> info)
    {
        if (info.Length > _mtu - PacketWriter.CommonHeaderSize - 4) { Drop("heartbeat-too-large"); return; }
        var w = NewPacket();
        var v = w.BeginChunk(ChunkType.HeartbeatAck, 0);
        info.CopyTo(v);
        w.EndChunk(info.Length);
        SendPacket(w);
    }

    /// <summary>After acknowledgements: closing channels may now be reset.</summary>
    private void OnOutboundProgress()
    {
        if (_resetWanted) QueueStreamReset();
    }

    /// <summary>Sends SHUTDOWN or SHUTDOWN-ACK once everything we sent is acknowledged.</summary>
    private void TryShutdown()
    {
        if (_sendQueue.Count > 0 || _ringCount > 0) return;
        if (_state == AssocState.ShutdownPending)
        {
            _state = AssocState.ShutdownSent;
            SendShutdown();
        }
        else if (_state == AssocState.ShutdownReceived)
        {
            _state = AssocState.ShutdownAckSent;
            SendControl(ChunkType.ShutdownAck);
        }
        else return;
        _errorCount = 0;
        _t2.Change(Rto, Timeout.InfiniteTimeSpan);
    }

    private void SendShutdown()
    {
        var w = NewPacket();
        var v = w.BeginChunk(ChunkType.Shutdown, 0);
        BinaryPrimitives.WriteUInt32BigEndian(v, _peerCumTsn);
        w.EndChunk(4);
        SendPacket(w);
    }

    private void HandleShutdown(ReadOnlySpan<byte> v)
    {
        if (v.Length < 4) { Drop("malformed-shutdown"); return; }
        // The cumulative TSN in SHUTDOWN acknowledges like a SACK without gaps.
        Span<byte> sack = stackalloc byte[12];
        v[..4].CopyTo(sack);
        BinaryPrimitives.WriteUInt32BigEndian(sack[4..], (uint)Math.Min(_peerRwnd + _flightSize, uint.MaxValue));
        HandleSack(sack);
        switch (_state)
        {
            case AssocState.Established or AssocState.ShutdownPending:
                _state = AssocState.ShutdownReceived;
                TryShutdown();
                break;
            case AssocState.ShutdownSent:
                _state = AssocState.ShutdownAckSent;
                SendControl(ChunkType.ShutdownAck);
                _t2.Change(Rto, Timeout.InfiniteTimeSpan);
                break;
        }
    }

    private void HandleShutdownAck()
    {
        if (_state is not (AssocState.ShutdownSent or AssocState.ShutdownAckSent)) return;
        SendControl(ChunkType.ShutdownComplete);
        Terminate(null, sendAbort: false, abortReason: null);
    }

    private void HandleShutdownComplete()
    {
        if (_state == AssocState.ShutdownAckSent) Terminate(null, sendAbort: false, abortReason: null);
    }

    private void OnT2()
    {
        if (_state is not (AssocState.ShutdownSent or AssocState.ShutdownAckSent)) return;
        if (++_errorCount > _options.MaxRetransmissions)
        {
            Terminate("the peer did not complete the shutdown", sendAbort: true, abortReason: "shutdown timed out");
            return;
        }
        _rtoTicks = Math.Min(_rtoTicks * 2, Ticks(_options.MaxRto));
        if (_state == AssocState.ShutdownSent) SendShutdown(); else SendControl(ChunkType.ShutdownAck);
        _t2.Change(Rto, Timeout.InfiniteTimeSpan);
    }
}
