using System.Buffers.Binary;

namespace VirtualCluster.P2P.Sctp;

public sealed partial class SctpAssociation
{
    private uint _rttTsn, _fastRecoveryExit, _advancedPeerAckPoint;
    private long _rttSentAt, _srtt, _rttvar;
    private bool _rttTsnValid, _rttMeasured, _inFastRecovery, _t3Running, _forwardTsnDue;
    private int _errorCount;
    private readonly Dictionary<ushort, ushort> _forwardStreams = new();

    /// <summary>SACK (RFC 9260 §6.2.1, §7.2): frees acknowledged chunks, updates cwnd, RTO, fast retransmit, PR-SCTP.</summary>
    private void HandleSack(ReadOnlySpan<byte> v)
    {
        if (v.Length < 12) { Drop("malformed-sack"); return; }
        var cum = BinaryPrimitives.ReadUInt32BigEndian(v);
        var arwnd = BinaryPrimitives.ReadUInt32BigEndian(v[4..]);
        int gaps = BinaryPrimitives.ReadUInt16BigEndian(v[8..]);
        if (v.Length < 12 + gaps * 4) { Drop("malformed-sack"); return; }
        if (Serial.Lt(cum, _cumAckTsn)) return; // an old SACK, overtaken by a newer one
        if (Serial.Ge(cum, _nextTsn)) { Drop("sack-beyond-sent"); return; }

        var now = _time.GetTimestamp();
        var flightBefore = _flightSize;
        long bytesAcked = 0;
        var cumAdvanced = cum != _cumAckTsn;
        var highestNewlyAcked = cum;
        long latestSentAcked = 0; // the send order of the most recently transmitted chunk this SACK newly acknowledges
        while (_cumAckTsn != cum)
        {
            var tsn = _cumAckTsn + 1;
            ref var c = ref RingAt(tsn);
            if (c.InFlight) _flightSize -= c.Length;
            if (!c.GapAcked && !c.Abandoned) bytesAcked += c.Length;
            if (c.MarkedForRetransmit) _retransmitPending--;
            if (c.SendOrder > latestSentAcked) latestSentAcked = c.SendOrder;
            if (_rttTsnValid && tsn == _rttTsn) { if (c.Transmissions == 1) MeasureRtt(now - _rttSentAt); _rttTsnValid = false; }
            Release(c.Message);
            c = default;
            _ringHead = (_ringHead + 1) & (_ring.Length - 1);
            _ringCount--;
            _cumAckTsn = tsn;
        }
        if (cumAdvanced) _errorCount = 0;

        for (var i = 0; i < gaps; i++)
        {
            var start = BinaryPrimitives.ReadUInt16BigEndian(v[(12 + i * 4)..]);
            var end = BinaryPrimitives.ReadUInt16BigEndian(v[(14 + i * 4)..]);
            if (start == 0 || end < start || end > _ringCount) continue; // malformed or beyond what we sent
            for (var off = start; off <= end; off++)
            {
                var tsn = cum + off;
                ref var c = ref RingAt(tsn);
                if (c.GapAcked) continue;
                c.GapAcked = true;
                if (c.InFlight) { _flightSize -= c.Length; c.InFlight = false; }
                if (c.MarkedForRetransmit) { c.MarkedForRetransmit = false; _retransmitPending--; }
                if (!c.Abandoned) bytesAcked += c.Length;
                if (c.SendOrder > latestSentAcked) latestSentAcked = c.SendOrder;
                if (_rttTsnValid && tsn == _rttTsn) { if (c.Transmissions == 1) MeasureRtt(now - _rttSentAt); _rttTsnValid = false; }
                if (Serial.Gt(tsn, highestNewlyAcked)) highestNewlyAcked = tsn;
            }
        }

        if (_inFastRecovery && Serial.Ge(cum, _fastRecoveryExit)) _inFastRecovery = false;
        if (highestNewlyAcked != cum) CountMisses(highestNewlyAcked, latestSentAcked, now);

        // Congestion control (RFC 9260 §7.2.1, §7.2.2): grow only when the window was in use.
        if (cumAdvanced && bytesAcked > 0 && !_inFastRecovery && flightBefore + _mtu >= _cwnd)
        {
            if (_cwnd <= _ssthresh) _cwnd += (int)Math.Min(bytesAcked, (long)_mtu * _options.PacketsPerSack);
            else
            {
                _partialBytesAcked += (int)bytesAcked;
                if (_partialBytesAcked >= _cwnd) { _partialBytesAcked -= _cwnd; _cwnd += _mtu; }
            }
            _cwnd = Math.Min(_cwnd, _options.MaxOutstandingBytes);
        }
        _peerRwnd = Math.Max(0, arwnd - (long)_flightSize);

        if (_ringCount == 0) { StopT3(); _partialBytesAcked = 0; }
        else if (cumAdvanced) StartT3();
        UpdateAdvancedPeerAckPoint();
        OnOutboundProgress();
    }

    /// <summary>
    /// Miss indications for chunks below the highest newly acknowledged TSN (RFC 9260 §7.2.4, HTNA); three start a
    /// fast retransmit. A chunk counts a miss only if something transmitted after it was acknowledged
    /// (<paramref name="latestSentAcked"/>): for first transmissions that is the TSN order, but a retransmitted chunk
    /// has a low TSN and a late send time, and the SACKs for chunks sent before its retransmission say nothing about
    /// it. Counting those (as TSN order alone does) retransmitted every hole again every three SACKs until its first
    /// retransmission was acknowledged: on the NAT lab's relayed path (coturn's relay socket buffer of 128 KiB overflows)
    /// that tripled the retransmissions. With this rule, a lost retransmission is detected by the chunks sent after it,
    /// and is retransmitted again without waiting for T3-rtx (usrsctp keeps a per-chunk TSN barrier to the same end).
    /// </summary>
    private void CountMisses(uint highest, long latestSentAcked, long now)
    {
        var enterRecovery = false;
        for (var tsn = _cumAckTsn + 1; Serial.Lt(tsn, highest); tsn++)
        {
            ref var c = ref RingAt(tsn);
            if (c.GapAcked || c.Abandoned || c.MarkedForRetransmit || !c.InFlight || c.SendOrder > latestSentAcked) continue;
            if (++c.Misses < 3) continue;
            c.Misses = 0;
            if (ShouldAbandon(c, now)) { Abandon(c.Message); continue; }
            c.MarkedForRetransmit = true;
            c.FastRetransmitted = true;
            c.InFlight = false;
            _flightSize -= c.Length;
            _retransmitPending++;
            enterRecovery = true;
        }
        if (enterRecovery && !_inFastRecovery)
        {
            _inFastRecovery = true;
            _fastRecoveryExit = _nextTsn - 1;
            _ssthresh = Math.Max(_cwnd / 2, 4 * _mtu);
            _cwnd = _ssthresh;
            _partialBytesAcked = 0;
            _fastRetransmits++;
            _metrics.SctpFastRetransmit();
        }
    }

    private bool ShouldAbandon(in InflightChunk c, long now) =>
        c.Message.MaxRetransmits >= 0 && c.Transmissions > c.Message.MaxRetransmits || now > c.Message.ExpiresAt;

    /// <summary>Gives up on a partially reliable message (RFC 3758 §3.5): its chunks leave the flight and are skipped with FORWARD-TSN.</summary>
    private void Abandon(OutboundMessage m)
    {
        if (m.Abandoned) return;
        m.Abandoned = true;
        _metrics.SctpAbandoned();
        if (m.Started)
        {
            for (var tsn = m.FirstTsn; Serial.Le(tsn, m.LastTsn); tsn++)
            {
                if (Serial.Le(tsn, _cumAckTsn)) continue;
                ref var c = ref RingAt(tsn);
                c.Abandoned = true;
                if (c.InFlight) { _flightSize -= c.Length; c.InFlight = false; }
                if (c.MarkedForRetransmit) { c.MarkedForRetransmit = false; _retransmitPending--; }
            }
        }
        // Unsent bytes of the message no longer count as buffered; the queue drops it when it reaches the front.
        if (m.Offset < m.Length)
        {
            Unqueue(m);
            m.Offset = m.Length;
        }
    }

    /// <summary>
    /// Moves the advanced peer ack point (RFC 3758 §3.5 C) over abandoned chunks, and over whole messages the
    /// peer already holds (gap-acknowledged), so one FORWARD-TSN skips every hole instead of one per round trip.
    /// Everything at or below the point is then either abandoned or a complete message the peer has.
    /// </summary>
    private void UpdateAdvancedPeerAckPoint()
    {
        if (!_peerSupportsForwardTsn) return;
        if (Serial.Lt(_advancedPeerAckPoint, _cumAckTsn)) _advancedPeerAckPoint = _cumAckTsn;
        var advanced = false;
        while (Serial.Lt(_advancedPeerAckPoint, _nextTsn - 1))
        {
            var next = _advancedPeerAckPoint + 1;
            ref var c = ref RingAt(next);
            if (c.Abandoned) { _advancedPeerAckPoint = next; advanced = true; continue; }
            if (!c.GapAcked) break;
            var end = next;
            while ((RingAt(end).Flags & DataFlags.End) == 0)
            {
                end++;
                if (Serial.Ge(end, _nextTsn)) return;
                ref var f = ref RingAt(end);
                if (!f.GapAcked && !f.Abandoned) goto done;
            }
            _advancedPeerAckPoint = end;
            advanced = true;
        }
    done:
        if (advanced && Serial.Gt(_advancedPeerAckPoint, _cumAckTsn)) _forwardTsnDue = true;
    }

    /// <summary>FORWARD-TSN (RFC 3758 §3.2): the new cumulative TSN and, per ordered stream, the last skipped SSN.</summary>
    private void WriteForwardTsn(ref PacketWriter w)
    {
        _forwardTsnDue = false;
        if (!Serial.Gt(_advancedPeerAckPoint, _cumAckTsn)) return;
        _forwardStreams.Clear();
        for (var tsn = _cumAckTsn + 1; Serial.Le(tsn, _advancedPeerAckPoint); tsn++)
        {
            var m = RingAt(tsn).Message;
            if (!m.Unordered) _forwardStreams[m.Stream] = m.Ssn;
        }
        var size = 4 + 4 * _forwardStreams.Count;
        if (w.Remaining < 4 + size) FlushPacket(ref w);
        var v = w.BeginChunk(ChunkType.ForwardTsn, 0);
        BinaryPrimitives.WriteUInt32BigEndian(v, _advancedPeerAckPoint);
        var o = 4;
        foreach (var (stream, ssn) in _forwardStreams)
        {
            if (o + 4 > v.Length) break;
            BinaryPrimitives.WriteUInt16BigEndian(v[o..], stream);
            BinaryPrimitives.WriteUInt16BigEndian(v[(o + 2)..], ssn);
            o += 4;
        }
        w.EndChunk(o);
    }

    /// <summary>RFC 6298: SRTT and RTTVAR from each sample, RTO = SRTT + 4 RTTVAR within [MinRto, MaxRto].</summary>
    private void MeasureRtt(long sample)
    {
        if (sample < 0) return;
        if (!_rttMeasured) { _srtt = sample; _rttvar = sample / 2; _rttMeasured = true; }
        else
        {
            _rttvar = (3 * _rttvar + Math.Abs(_srtt - sample)) / 4;
            _srtt = (7 * _srtt + sample) / 8;
        }
        _rtoTicks = Math.Clamp(_srtt + Math.Max(4 * _rttvar, 1), Ticks(_options.MinRto), Ticks(_options.MaxRto));
    }

    private void StartT3() { _t3.Change(Rto, Timeout.InfiniteTimeSpan); _t3Running = true; }
    private void StopT3() { _t3.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan); _t3Running = false; }

    /// <summary>T3-rtx expiry (RFC 9260 §6.3.3, §7.2.3): back off, cwnd to one MTU, mark everything outstanding for retransmission.</summary>
    private void OnT3()
    {
        _t3Running = false;
        if (_ringCount == 0 || _state == AssocState.Ended) return;
        if (++_errorCount > _options.MaxRetransmissions)
        {
            Terminate($"the peer stopped acknowledging data: {_options.MaxRetransmissions} retransmissions went unanswered", sendAbort: true, abortReason: "too many retransmissions");
            return;
        }
        _rtoTicks = Math.Min(_rtoTicks * 2, Ticks(_options.MaxRto));
        OnBlackHoleSuspected();
        _ssthresh = Math.Max(_cwnd / 2, 4 * _mtu);
        _cwnd = _mtu;
        _partialBytesAcked = 0;
        _inFastRecovery = false;
        _rttTsnValid = false;
        var now = _time.GetTimestamp();
        for (var i = 0; i < _ringCount; i++)
        {
            ref var c = ref RingAt(_cumAckTsn + 1 + (uint)i);
            if (c.GapAcked || c.Abandoned) continue;
            if (c.InFlight) { c.InFlight = false; _flightSize -= c.Length; }
            if (ShouldAbandon(c, now)) { Abandon(c.Message); continue; }
            if (!c.MarkedForRetransmit) { c.MarkedForRetransmit = true; _retransmitPending++; }
            c.FastRetransmitted = false;
        }
        _timeouts++;
        _metrics.SctpTimeout();
        Log.RetransmissionTimeout(_logger, _errorCount, Rto);
        UpdateAdvancedPeerAckPoint();
        if (Serial.Gt(_advancedPeerAckPoint, _cumAckTsn)) _forwardTsnDue = true;
        TrySend();
        StartT3();
    }
}
