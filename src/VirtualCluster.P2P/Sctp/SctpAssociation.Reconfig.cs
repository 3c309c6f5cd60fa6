using System.Buffers.Binary;
using VirtualCluster.P2P.DataChannels;

namespace VirtualCluster.P2P.Sctp;

/// <summary>Stream reset (RFC 6525) so that a channel closed on either side closes on both (RFC 8831 §6.7).</summary>
public sealed partial class SctpAssociation
{
    private const uint ResultNothingToDo = 0, ResultPerformed = 1, ResultDenied = 2, ResultBadSequence = 5, ResultInProgress = 6;
    private uint _reconfigRequestSeq, _peerReconfigSeq, _lastReconfigResult;
    private uint _reconfigLastTsn;
    private bool _reconfigOutstanding, _reconfigDue;
    private readonly List<ushort> _reconfigStreams = new();
    private readonly List<(uint Seq, uint Result)> _reconfigResponses = new();

    /// <summary>Starts an outgoing reset for closing channels whose queued messages have all been sent.</summary>
    private void QueueStreamReset()
    {
        if (_reconfigOutstanding || _state != AssocState.Established) return;
        _reconfigStreams.Clear();
        _resetWanted = false;
        foreach (var c in _channels.Values)
        {
            if (!c.ResetRequested || c.OutgoingReset) continue;
            if (c.QueuedMessages == 0 && _reconfigStreams.Count < 256) _reconfigStreams.Add(c.StreamId);
            else _resetWanted = true;
        }
        if (_reconfigStreams.Count == 0) return;
        _reconfigLastTsn = _nextTsn - 1;
        _reconfigOutstanding = true;
        _reconfigDue = true;
        _reconfigTimer.Change(Rto, Timeout.InfiniteTimeSpan);
    }

    private void OnReconfigTimer()
    {
        if (!_reconfigOutstanding) return;
        _reconfigDue = true;
        TrySend();
        _reconfigTimer.Change(Rto, Timeout.InfiniteTimeSpan);
    }

    private void WriteReconfig(ref PacketWriter w)
    {
        _reconfigDue = false;
        foreach (var (seq, result) in _reconfigResponses)
        {
            if (w.Remaining < 16 + 4) FlushPacket(ref w);
            var v = w.BeginChunk(ChunkType.ReConfig, 0);
            BinaryPrimitives.WriteUInt16BigEndian(v, ParamType.ReconfigResponse);
            BinaryPrimitives.WriteUInt16BigEndian(v[2..], 12);
            BinaryPrimitives.WriteUInt32BigEndian(v[4..], seq);
            BinaryPrimitives.WriteUInt32BigEndian(v[8..], result);
            w.EndChunk(12);
        }
        _reconfigResponses.Clear();
        if (!_reconfigOutstanding) return;
        var length = 16 + 2 * _reconfigStreams.Count;
        if (w.Remaining < 4 + length + 3) FlushPacket(ref w);
        var p = w.BeginChunk(ChunkType.ReConfig, 0);
        BinaryPrimitives.WriteUInt16BigEndian(p, ParamType.OutgoingResetRequest);
        BinaryPrimitives.WriteUInt16BigEndian(p[2..], (ushort)length);
        BinaryPrimitives.WriteUInt32BigEndian(p[4..], _reconfigRequestSeq);
        BinaryPrimitives.WriteUInt32BigEndian(p[8..], _peerReconfigSeq - 1);
        BinaryPrimitives.WriteUInt32BigEndian(p[12..], _reconfigLastTsn);
        for (var i = 0; i < _reconfigStreams.Count; i++) BinaryPrimitives.WriteUInt16BigEndian(p[(16 + 2 * i)..], _reconfigStreams[i]);
        var padded = (length + 3) & ~3;
        p[length..padded].Clear();
        w.EndChunk(padded);
    }

    private void HandleReconfig(ReadOnlySpan<byte> v)
    {
        var reader = new ParamReader(v);
        while (reader.Next(out var type, out var value))
        {
            switch (type)
            {
                case ParamType.OutgoingResetRequest when value.Length >= 12: HandleResetRequest(value); break;
                case ParamType.ReconfigResponse when value.Length >= 8: HandleReconfigResponse(value); break;
                case ParamType.IncomingResetRequest when value.Length >= 4:
                    // We never ask the peer to reset its side this way; answer "denied" so it does not wait.
                    var seq = BinaryPrimitives.ReadUInt32BigEndian(value);
                    Respond(seq, seq == _peerReconfigSeq ? ResultDenied : ResultBadSequence, advance: seq == _peerReconfigSeq);
                    break;
                default: Drop("unknown-reconfig-parameter"); break;
            }
        }
    }

    private void HandleResetRequest(ReadOnlySpan<byte> value)
    {
        var seq = BinaryPrimitives.ReadUInt32BigEndian(value);
        var lastTsn = BinaryPrimitives.ReadUInt32BigEndian(value[8..]);
        if (seq == _peerReconfigSeq - 1) { Respond(seq, _lastReconfigResult, advance: false); return; } // a retransmission
        if (seq != _peerReconfigSeq) { Respond(seq, ResultBadSequence, advance: false); return; }
        if (Serial.Lt(_peerCumTsn, lastTsn)) { Respond(seq, ResultInProgress, advance: false); return; } // data still missing
        var streams = value[12..];
        if (streams.Length < 2)
        {
            foreach (var c in _channels.Values.ToList()) ResetIncoming(c.StreamId);
        }
        for (var o = 0; o + 2 <= streams.Length; o += 2) ResetIncoming(BinaryPrimitives.ReadUInt16BigEndian(streams[o..]));
        Respond(seq, ResultPerformed, advance: true);
        QueueStreamReset();
    }

    private void Respond(uint seq, uint result, bool advance)
    {
        if (advance) { _peerReconfigSeq++; _lastReconfigResult = result; }
        if (_reconfigResponses.Count < 16) _reconfigResponses.Add((seq, result));
        _reconfigDue = true;
    }

    /// <summary>The peer reset its outgoing stream: our incoming side starts again at SSN 0, and we close our side too.</summary>
    private void ResetIncoming(ushort stream)
    {
        _inbound.Remove(stream);
        if (!_channels.TryGetValue(stream, out var channel)) return;
        channel.IncomingReset = true;
        if (channel.OutgoingReset) { FinishChannel(channel, null); return; }
        if (!channel.ResetRequested)
        {
            channel.State = DataChannelState.Closing;
            channel.ResetRequested = true;
            _resetWanted = true;
        }
    }

    private void HandleReconfigResponse(ReadOnlySpan<byte> value)
    {
        var seq = BinaryPrimitives.ReadUInt32BigEndian(value);
        var result = BinaryPrimitives.ReadUInt32BigEndian(value[4..]);
        if (!_reconfigOutstanding || seq != _reconfigRequestSeq) return;
        if (result == ResultInProgress) return; // the timer asks again
        _reconfigOutstanding = false;
        _reconfigRequestSeq++;
        _reconfigTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        if (result is not (ResultPerformed or ResultNothingToDo)) Log.ResetRefused(_logger, result);
        foreach (var id in _reconfigStreams)
        {
            if (!_channels.TryGetValue(id, out var c)) continue;
            c.OutgoingReset = true;
            c.NextSsn = 0;
            if (c.IncomingReset) FinishChannel(c, null);
        }
        _reconfigStreams.Clear();
        QueueStreamReset();
    }
}
