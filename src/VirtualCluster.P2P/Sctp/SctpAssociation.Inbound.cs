using System.Buffers;
using System.Buffers.Binary;

namespace VirtualCluster.P2P.Sctp;

public sealed partial class SctpAssociation
{
    /// <summary>TSNs tracked above the cumulative TSN; DATA further ahead is dropped (the peer retransmits it).</summary>
    private const int InboundSlots = 8192;
    private const int MaxDuplicates = 16;
    private ReceiveSlot[] _slots = [];
    private readonly Dictionary<ushort, InboundStream> _inbound = new();
    private readonly uint[] _duplicates = new uint[MaxDuplicates];
    private int _duplicateCount, _packetsSinceSack;
    private uint _peerCumTsn, _highestReceived;
    private long _heldBytes, _appHeldBytes, _lastAdvertisedRwnd;
    private bool _sackDue, _sackImmediate, _dataInPacket, _sackTimerRunning;

    private void InitInbound() => _slots = new ReceiveSlot[InboundSlots];

    private void StartInbound(uint peerInitialTsn)
    {
        _peerCumTsn = peerInitialTsn - 1;
        _highestReceived = _peerCumTsn;
        _lastAdvertisedRwnd = _options.ReceiveWindow;
        _peerReconfigSeq = peerInitialTsn;
    }

    private long ReceiveWindowLeft => Math.Max(0, _options.ReceiveWindow - _heldBytes - Volatile.Read(ref _appHeldBytes));

    private bool IsReceived(uint tsn)
    {
        if (Serial.Le(tsn, _peerCumTsn)) return true;
        ref var s = ref _slots[tsn & (InboundSlots - 1)];
        return s.Received && s.Tsn == tsn;
    }

    private void HandleData(byte flags, ReadOnlySpan<byte> v)
    {
        if (v.Length < 12) { Drop("malformed-data"); return; }
        _dataInPacket = true;
        var tsn = BinaryPrimitives.ReadUInt32BigEndian(v);
        var payload = v[12..];
        if (payload.IsEmpty) { Drop("empty-data"); return; }
        if ((flags & DataFlags.Immediate) != 0) _sackImmediate = true;
        if (IsReceived(tsn))
        {
            if (_duplicateCount < MaxDuplicates) _duplicates[_duplicateCount++] = tsn;
            _sackImmediate = true;
            return;
        }
        if (tsn - _peerCumTsn > InboundSlots) { Drop("tsn-out-of-window"); _sackImmediate = true; return; }
        if (payload.Length > ReceiveWindowLeft && tsn != _peerCumTsn + 1) { Drop("receive-window-full"); _sackImmediate = true; return; }
        ref var slot = ref _slots[tsn & (InboundSlots - 1)];
        if (slot.Data is not null)
        {
            // A fragment from a whole window back: its message can no longer complete (its TSNs are all at or below
            // the cumulative TSN), so the peer never finished it. Free it rather than hold it forever.
            _heldBytes -= slot.Length;
            ArrayPool<byte>.Shared.Return(slot.Data);
            slot.Data = null;
            Drop("stale-fragment");
        }
        var data = ArrayPool<byte>.Shared.Rent(payload.Length);
        payload.CopyTo(data);
        slot = new ReceiveSlot
        {
            Tsn = tsn, Received = true, Data = data, Length = payload.Length, Flags = flags,
            Stream = BinaryPrimitives.ReadUInt16BigEndian(v[4..]), Ssn = BinaryPrimitives.ReadUInt16BigEndian(v[6..]),
            Ppid = BinaryPrimitives.ReadUInt32BigEndian(v[8..]),
        };
        _heldBytes += payload.Length;
        if (Serial.Gt(tsn, _highestReceived)) _highestReceived = tsn;
        while (IsReceived(_peerCumTsn + 1)) _peerCumTsn++;
        if ((flags & DataFlags.End) != 0 || HasData(tsn + 1)) TryAssemble(tsn);
    }

    private bool HasData(uint tsn)
    {
        ref var s = ref _slots[tsn & (InboundSlots - 1)];
        return s.Data is not null && s.Tsn == tsn;
    }

    /// <summary>Fragments of a message have consecutive TSNs (RFC 9260 §6.9): look for its B and E around <paramref name="tsn"/>.</summary>
    private void TryAssemble(uint tsn)
    {
        ref var s = ref _slots[tsn & (InboundSlots - 1)];
        var stream = s.Stream;
        var kind = s.Flags & DataFlags.Unordered;
        long total = s.Length;
        var begin = tsn;
        while ((_slots[begin & (InboundSlots - 1)].Flags & DataFlags.Begin) == 0)
        {
            begin--;
            if (!Fragment(begin, stream, kind, ref total)) return;
        }
        var end = tsn;
        while ((_slots[end & (InboundSlots - 1)].Flags & DataFlags.End) == 0)
        {
            end++;
            if (!Fragment(end, stream, kind, ref total)) return;
        }
        ref var first = ref _slots[begin & (InboundSlots - 1)];
        var ssn = first.Ssn;
        var ppid = first.Ppid;
        byte[] data;
        if (begin == end)
        {
            data = first.Data!;
            first.Data = null;
        }
        else
        {
            if (total > _options.MaxMessageSize)
            {
                Terminate($"the peer sent a message of {total} bytes, more than the max-message-size of {_options.MaxMessageSize}", sendAbort: true, abortReason: "message larger than max-message-size");
                return;
            }
            data = ArrayPool<byte>.Shared.Rent((int)total);
            var offset = 0;
            for (var t = begin; ; t++)
            {
                ref var f = ref _slots[t & (InboundSlots - 1)];
                f.Data.AsSpan(0, f.Length).CopyTo(data.AsSpan(offset));
                offset += f.Length;
                ArrayPool<byte>.Shared.Return(f.Data!);
                f.Data = null;
                if (t == end) break;
            }
        }
        _heldBytes -= total;
        OnMessage(stream, ssn, ppid, kind != 0, data, (int)total);
    }

    private bool Fragment(uint tsn, ushort stream, int kind, ref long total)
    {
        ref var f = ref _slots[tsn & (InboundSlots - 1)];
        if (f.Data is null || f.Tsn != tsn || f.Stream != stream || (f.Flags & DataFlags.Unordered) != kind) return false;
        total += f.Length;
        return true;
    }

    private InboundStream Inbound(ushort stream)
    {
        if (!_inbound.TryGetValue(stream, out var s)) _inbound[stream] = s = new InboundStream();
        return s;
    }

    /// <summary>A whole message: unordered ones go straight up, ordered ones in SSN order.</summary>
    private void OnMessage(ushort stream, ushort ssn, uint ppid, bool unordered, byte[] data, int length)
    {
        if (unordered) { Deliver(stream, ppid, data, length); return; }
        var s = Inbound(stream);
        if (ssn == s.ExpectedSsn)
        {
            s.ExpectedSsn++;
            Deliver(stream, ppid, data, length);
            DrainPending(stream, s);
        }
        else if (Serial.Lt16(s.ExpectedSsn, ssn))
        {
            s.Pending ??= new List<PendingMessage>();
            var i = s.Pending.Count;
            while (i > 0 && Serial.Lt16(ssn, s.Pending[i - 1].Ssn)) i--;
            s.Pending.Insert(i, new PendingMessage { Ssn = ssn, Ppid = ppid, Data = data, Length = length });
            _heldBytes += length;
        }
        else
        {
            ArrayPool<byte>.Shared.Return(data); // an SSN already delivered or skipped
        }
    }

    private void DrainPending(ushort stream, InboundStream s)
    {
        while (s.Pending is { Count: > 0 } p && p[0].Ssn == s.ExpectedSsn)
        {
            var m = p[0];
            p.RemoveAt(0);
            _heldBytes -= m.Length;
            s.ExpectedSsn++;
            Deliver(stream, m.Ppid, m.Data, m.Length);
        }
    }

    /// <summary>Decides about the SACK after a packet (RFC 9260 §6.2: at least every second packet, at once on gaps or duplicates).</summary>
    private void AfterPacket()
    {
        if (_dataInPacket)
        {
            _dataInPacket = false;
            _packetsSinceSack++;
            if (_sackImmediate || Serial.Gt(_highestReceived, _peerCumTsn) || _packetsSinceSack >= _options.PacketsPerSack || _state != AssocState.Established)
                _sackDue = true;
            else if (!_sackTimerRunning)
            {
                _sackTimerRunning = true;
                _sackTimer.Change(_options.DelayedSackTimeout, Timeout.InfiniteTimeSpan);
            }
        }
        TrySend();
    }

    private void OnSackTimer()
    {
        _sackTimerRunning = false;
        if (_state < AssocState.Established) return;
        _sackDue = true;
        TrySend();
    }

    private void WriteSack(ref PacketWriter w)
    {
        _sackDue = _sackImmediate = false;
        _packetsSinceSack = 0;
        if (_sackTimerRunning) { _sackTimerRunning = false; _sackTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan); }
        var v = w.BeginChunk(ChunkType.Sack, 0);
        var rwnd = ReceiveWindowLeft;
        _lastAdvertisedRwnd = rwnd;
        BinaryPrimitives.WriteUInt32BigEndian(v, _peerCumTsn);
        BinaryPrimitives.WriteUInt32BigEndian(v[4..], (uint)Math.Min(rwnd, uint.MaxValue));
        var maxGaps = Math.Min(128, (v.Length - 12 - 4 * _duplicateCount) / 4);
        var gaps = 0;
        var o = 12;
        var tsn = _peerCumTsn + 1;
        while (gaps < maxGaps && Serial.Le(tsn, _highestReceived))
        {
            if (!IsReceived(tsn)) { tsn++; continue; }
            var start = tsn;
            while (Serial.Le(tsn + 1, _highestReceived) && IsReceived(tsn + 1)) tsn++;
            BinaryPrimitives.WriteUInt16BigEndian(v[o..], (ushort)(start - _peerCumTsn));
            BinaryPrimitives.WriteUInt16BigEndian(v[(o + 2)..], (ushort)(tsn - _peerCumTsn));
            o += 4;
            gaps++;
            tsn++;
        }
        for (var i = 0; i < _duplicateCount; i++, o += 4) BinaryPrimitives.WriteUInt32BigEndian(v[o..], _duplicates[i]);
        BinaryPrimitives.WriteUInt16BigEndian(v[8..], (ushort)gaps);
        BinaryPrimitives.WriteUInt16BigEndian(v[10..], (ushort)_duplicateCount);
        _duplicateCount = 0;
        w.EndChunk(o);
    }

    private void ReleaseInbound()
    {
        for (var i = 0; i < _slots.Length; i++)
        {
            if (_slots[i].Data is { } d) ArrayPool<byte>.Shared.Return(d);
            _slots[i] = default;
        }
        foreach (var s in _inbound.Values)
        {
            if (s.Pending is null) continue;
            foreach (var m in s.Pending) ArrayPool<byte>.Shared.Return(m.Data);
            s.Pending.Clear();
        }
        _heldBytes = 0;
    }
}
