using System.Buffers;
using System.Buffers.Binary;

namespace VirtualCluster.P2P.Sctp;

/// <summary>Receive side: FORWARD-TSN and the receive-window share of bytes the application has not read yet.</summary>
public sealed partial class SctpAssociation
{
    /// <summary>FORWARD-TSN (RFC 3758 §3.6): skip abandoned TSNs and SSNs, deliver what became deliverable.</summary>
    private void HandleForwardTsn(ReadOnlySpan<byte> v)
    {
        if (v.Length < 4) { Drop("malformed-forward-tsn"); return; }
        _dataInPacket = true;
        _sackImmediate = true;
        var newCum = BinaryPrimitives.ReadUInt32BigEndian(v);
        if (Serial.Le(newCum, _peerCumTsn)) return;
        if (newCum - _peerCumTsn > 1u << 30) { Drop("forward-tsn-out-of-window"); return; }
        for (var i = 0; i < InboundSlots; i++)
        {
            ref var s = ref _slots[i];
            if (s.Data is not null && Serial.Le(s.Tsn, newCum))
            {
                _heldBytes -= s.Length;
                ArrayPool<byte>.Shared.Return(s.Data);
                s.Data = null;
            }
        }
        _peerCumTsn = newCum;
        if (Serial.Lt(_highestReceived, newCum)) _highestReceived = newCum;
        while (IsReceived(_peerCumTsn + 1)) _peerCumTsn++;
        for (var o = 4; o + 4 <= v.Length; o += 4)
        {
            var stream = BinaryPrimitives.ReadUInt16BigEndian(v[o..]);
            var ssn = BinaryPrimitives.ReadUInt16BigEndian(v[(o + 2)..]);
            if (!_inbound.TryGetValue(stream, out var s) || !Serial.Le16(s.ExpectedSsn, ssn)) continue;
            // Messages up to the skipped SSN that are complete are delivered; the skipped one is gone.
            while (s.Pending is { Count: > 0 } p && Serial.Le16(p[0].Ssn, ssn))
            {
                var m = p[0];
                p.RemoveAt(0);
                _heldBytes -= m.Length;
                Deliver(stream, m.Ppid, m.Data, m.Length);
            }
            s.ExpectedSsn = (ushort)(ssn + 1);
            DrainPending(stream, s);
        }
    }

    /// <summary>Bytes a reader (DataChannelStream) holds count against the receive window until it reads them.</summary>
    internal void HoldApplicationBytes(int bytes) => Interlocked.Add(ref _appHeldBytes, bytes);

    internal void ReleaseApplicationBytes(int bytes)
    {
        Interlocked.Add(ref _appHeldBytes, -bytes);
        lock (_gate)
        {
            // Window update: tell a sender we stalled that room is back (RFC 9260 §6.2).
            if (_state < AssocState.Established || _state == AssocState.Ended) return;
            if (_lastAdvertisedRwnd < _options.ReceiveWindow / 4 && ReceiveWindowLeft >= _options.ReceiveWindow / 2)
            {
                _sackDue = true;
                TrySend();
            }
        }
    }
}
