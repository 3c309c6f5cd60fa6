using System.Buffers;
using System.Buffers.Binary;
using VirtualCluster.P2P.DataChannels;

namespace VirtualCluster.P2P.Sctp;

public sealed partial class SctpAssociation
{
    private const int DataHeaderSize = 16, MaxRingSize = 1 << 17;
    private readonly SendQueue _sendQueue = new();
    private readonly Stack<OutboundMessage> _messagePool = new();
    private InflightChunk[] _ring = new InflightChunk[1024];
    private int _ringHead, _ringCount;
    private uint _nextTsn, _cumAckTsn;
    private long _queuedBytes;
    private int _flightSize, _cwnd, _ssthresh, _partialBytesAcked, _retransmitPending;
    private long _peerRwnd;
    private long _lastDataSentAt, _sendOrder;

    private void InitOutbound() { }

    private void StartOutbound(uint initialTsn, uint peerRwnd)
    {
        _nextTsn = initialTsn;
        _cumAckTsn = initialTsn - 1;
        _advancedPeerAckPoint = _cumAckTsn;
        _reconfigRequestSeq = initialTsn;
        _peerRwnd = peerRwnd;
        _cwnd = _options.InitialCongestionWindow > 0 ? _options.InitialCongestionWindow : Math.Min(4 * _mtu, Math.Max(2 * _mtu, 4404));
        _ssthresh = (int)Math.Min(peerRwnd, int.MaxValue);
    }


    /// <summary>Queues a user message (copied into a pooled buffer) and sends what the windows allow.</summary>
    internal void SendMessage(DataChannel channel, ReadOnlySpan<byte> data, uint ppid)
    {
        lock (_gate)
        {
            if (_state != AssocState.Established)
                throw new InvalidOperationException($"The association is {State}; messages can be sent only while it is open.");
            if (channel.State != DataChannelState.Open)
                throw new InvalidOperationException($"Channel '{channel.Label}' is {channel.State}; send only while it is Open.");
            if (_queuedBytes + data.Length > _options.MaxSendBuffer)
                throw new InvalidOperationException($"The send buffer is full ({_queuedBytes} of {_options.MaxSendBuffer} bytes queued); wait for BufferedAmountLow (or DataChannelStream) before sending more.");
            EnqueueMessage(channel, data, ppid, !channel.Ordered && channel.AckReceived,
                channel.MaxRetransmits ?? -1, channel.MaxPacketLifeTime);
            TrySend();
        }
        Dispatch();
    }

    /// <summary>Queues a message under the lock (DCEP messages come here directly, always ordered and reliable).</summary>
    private void EnqueueMessage(DataChannel channel, ReadOnlySpan<byte> data, uint ppid, bool unordered, int maxRetransmits, TimeSpan? lifetime)
    {
        var m = _messagePool.Count > 0 ? _messagePool.Pop() : new OutboundMessage();
        m.Buffer = data.Length == 0 ? [] : ArrayPool<byte>.Shared.Rent(data.Length);
        data.CopyTo(m.Buffer);
        m.Length = data.Length;
        m.Offset = 0;
        m.Stream = channel.StreamId;
        m.Ppid = ppid;
        m.Unordered = unordered;
        m.MaxRetransmits = _peerSupportsForwardTsn ? maxRetransmits : -1;
        m.ExpiresAt = _peerSupportsForwardTsn && lifetime is { } l ? _time.GetTimestamp() + Ticks(l) : long.MaxValue;
        m.Channel = channel;
        m.Refs = 1;
        m.Abandoned = false;
        m.Started = false;
        _sendQueue.Enqueue(m);
        _queuedBytes += data.Length;
        channel.AddBuffered(data.Length);
        channel.QueuedMessages++;
    }

    private void Release(OutboundMessage m)
    {
        if (--m.Refs > 0) return;
        if (m.Buffer.Length > 0) ArrayPool<byte>.Shared.Return(m.Buffer);
        m.Buffer = [];
        m.Channel = null;
        if (_messagePool.Count < 1024) _messagePool.Push(m);
    }

    /// <summary>Bytes of a queued message that will not be sent after all (abandoned or association closed).</summary>
    private void Unqueue(OutboundMessage m)
    {
        var unsent = m.Length - m.Offset;
        _queuedBytes -= unsent;
        if (m.Channel is { } c)
        {
            c.QueuedMessages--;
            SubtractBuffered(c, unsent);
        }
    }

    private void SubtractBuffered(DataChannel c, long bytes)
    {
        if (c.SubtractBuffered(bytes)) _events.Add(new PendingEvent { Kind = EventKind.BufferedAmountLow, Channel = c });
    }

    private ref InflightChunk RingAt(uint tsn) => ref _ring[(_ringHead + (int)(tsn - _cumAckTsn - 1)) & (_ring.Length - 1)];

    private bool RingHasRoom()
    {
        if (_ringCount < _ring.Length) return true;
        if (_ring.Length >= MaxRingSize) return false;
        var bigger = new InflightChunk[_ring.Length * 2];
        for (var i = 0; i < _ringCount; i++) bigger[i] = _ring[(_ringHead + i) & (_ring.Length - 1)];
        _ring = bigger;
        _ringHead = 0;
        return true;
    }

    /// <summary>
    /// Sends what is due, bundling chunks into full packets: a SACK, FORWARD-TSN and RE-CONFIG if pending, then
    /// retransmissions, then new DATA as far as cwnd, the peer's window and <see cref="SctpOptions.MaxOutstandingBytes"/> allow.
    /// </summary>
    private void TrySend()
    {
        if (_state < AssocState.Established || _state == AssocState.Ended) return;
        // one burst: the transport may hand this call's packets to the network together (one system call for a
        // window's worth of same-size packets over UDP) instead of one by one
        _transport.BeginBurst();
        try
        {
            SendDue();
        }
        finally
        {
            _transport.EndBurst();
        }
    }

    private void SendDue()
    {
        var now = _time.GetTimestamp();
        if (_resetWanted && !_reconfigOutstanding) QueueStreamReset();
        var w = NewPacket();
        // A SACK owed on the delayed-SACK timer rides along with new DATA for free (RFC 9260 §6.2), so a request's
        // sender learns of its acknowledgement with the response instead of 20 ms later.
        if (_sackDue || _sackTimerRunning && _sendQueue.Count > 0 && _flightSize < _cwnd) WriteSack(ref w);
        if (_forwardTsnDue) WriteForwardTsn(ref w);
        if (_reconfigDue) WriteReconfig(ref w);
        var sentData = false;

        if (_retransmitPending > 0) sentData |= SendRetransmissions(ref w, now);

        var canSendNew = _state is AssocState.Established or AssocState.ShutdownPending or AssocState.ShutdownReceived;
        while (canSendNew && _sendQueue.Count > 0 && _retransmitPending == 0)
        {
            var m = _sendQueue.Peek();
            if (m.Abandoned) { _sendQueue.Dequeue(); Unqueue(m); Release(m); continue; }
            if (!m.Started && now > m.ExpiresAt)
            {
                _sendQueue.Dequeue();
                Unqueue(m);
                Release(m);
                _metrics.SctpAbandoned();
                continue;
            }
            var remaining = m.Length - m.Offset;
            var chunkLength = Math.Max(1, Math.Min(remaining, MaxDataPayload));
            if (_flightSize >= _cwnd || _flightSize + (long)chunkLength > _options.MaxOutstandingBytes) break;
            if (_peerRwnd < chunkLength && _flightSize > 0) break;
            if (!RingHasRoom()) break;
            if (w.Remaining < DataHeaderSize + Math.Min(chunkLength, 256) + 4)
            {
                FlushPacket(ref w);
            }
            // chunks stay what fits a base-size packet (see SctpAssociation.Pmtu); a probed size bundles more of them
            var length = Math.Min(Math.Min(remaining, MaxDataPayload), (w.Remaining - DataHeaderSize) & ~3);
            if (!m.Started)
            {
                m.Started = true;
                m.FirstTsn = _nextTsn;
                if (!m.Unordered && m.Channel is { } ch) m.Ssn = ch.NextSsn++;
            }
            byte flags = 0;
            if (m.Offset == 0) flags |= DataFlags.Begin;
            if (m.Offset + length == m.Length) flags |= DataFlags.End;
            if (m.Unordered) flags |= DataFlags.Unordered;
            var tsn = _nextTsn++;
            _ringCount++;
            ref var c = ref RingAt(tsn);
            c = new InflightChunk { Message = m, Offset = m.Offset, Length = length, Flags = flags, Transmissions = 1, SentAt = now, SendOrder = ++_sendOrder, InFlight = true };
            WriteData(ref w, tsn, m, m.Offset, length, flags);
            m.Refs++;
            m.LastTsn = tsn;
            m.Offset += length;
            _flightSize += length;
            _peerRwnd -= length;
            _queuedBytes -= length;
            if (m.Channel is { } channel) SubtractBuffered(channel, length);
            if (_rttTsnValid == false) { _rttTsn = tsn; _rttSentAt = now; _rttTsnValid = true; }
            sentData = true;
            if (m.Offset == m.Length)
            {
                _sendQueue.Dequeue();
                if (m.Channel is { } ch2) ch2.QueuedMessages--;
                Release(m);
            }
        }
        if (w.HasChunks) FlushPacket(ref w);
        if (sentData)
        {
            _lastDataSentAt = now;
            if (!_t3Running) StartT3();
        }
        if (_state == AssocState.ShutdownPending || _state == AssocState.ShutdownReceived) TryShutdown();
    }

    private bool SendRetransmissions(ref PacketWriter w, long now)
    {
        var sent = false;
        var count = _ringCount;
        for (var i = 0; i < count && _retransmitPending > 0; i++)
        {
            var tsn = _cumAckTsn + 1 + (uint)i;
            ref var c = ref RingAt(tsn);
            if (!c.MarkedForRetransmit) continue;
            if (!c.FastRetransmitted && _flightSize >= _cwnd) break;
            if (w.Remaining < DataHeaderSize + c.Length + 3) FlushPacket(ref w);
            c.FastRetransmitted = false;
            c.MarkedForRetransmit = false;
            _retransmitPending--;
            c.Transmissions++;
            c.SentAt = now;
            c.SendOrder = ++_sendOrder;
            c.InFlight = true;
            c.Misses = 0;
            _flightSize += c.Length;
            _peerRwnd -= c.Length;
            WriteData(ref w, tsn, c.Message, c.Offset, c.Length, c.Flags);
            _metrics.SctpRetransmitted();
            _retransmittedChunks++;
            if (tsn == _rttTsn) _rttTsnValid = false; // Karn: no RTT sample from a retransmitted chunk
            sent = true;
        }
        return sent;
    }

    private PacketWriter NewPacket() => new(_packet, _mtu, _options.LocalPort, _options.RemotePort, _peerTag);

    private void FlushPacket(ref PacketWriter w)
    {
        if (!w.HasChunks) return;
        SendPacket(w);
        w = NewPacket();
    }

    private void WriteData(ref PacketWriter w, uint tsn, OutboundMessage m, int offset, int length, byte flags)
    {
        // A zero-length message has no payload; DCEP sends empty messages as one byte with PPID 56/57, so Length >= 1.
        var v = w.BeginChunk(ChunkType.Data, flags);
        BinaryPrimitives.WriteUInt32BigEndian(v, tsn);
        BinaryPrimitives.WriteUInt16BigEndian(v[4..], m.Stream);
        BinaryPrimitives.WriteUInt16BigEndian(v[6..], m.Unordered ? (ushort)0 : m.Ssn);
        BinaryPrimitives.WriteUInt32BigEndian(v[8..], m.Ppid);
        m.Buffer.AsSpan(offset, length).CopyTo(v[12..]);
        w.EndChunk(12 + length);
    }

    private void ReleaseOutbound()
    {
        while (_sendQueue.Count > 0)
        {
            var m = _sendQueue.Dequeue();
            Unqueue(m);
            Release(m);
        }
        for (var i = 0; i < _ringCount; i++)
        {
            ref var c = ref _ring[(_ringHead + i) & (_ring.Length - 1)];
            Release(c.Message);
            c = default;
        }
        _ringCount = 0;
        _flightSize = 0;
    }
}
