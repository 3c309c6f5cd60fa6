using System.Buffers.Binary;
using Org.BouncyCastle.Tls;

namespace VirtualCluster.P2P.Dtls;

public sealed partial class DtlsTransport
{
    private const byte ContentAlert = 21, ContentApplicationData = 23;
    private readonly object _receiveGate = new();
    private volatile DtlsRecordProtection? _records;
    private byte[] _plaintext = [];

    /// <summary>Epoch-1 records refused by our record layer: forged, replayed, of another epoch, or malformed.</summary>
    public long RefusedRecords => _records?.Refused ?? 0;

    /// <summary>True once application data goes through our record layer rather than BouncyCastle's (AES-GCM suites).</summary>
    internal bool OwnRecordLayer => _records is not null;

    /// <summary>After the handshake: our record layer takes over application data and alerts of epoch 1.</summary>
    private void TakeOverRecords(DtlsHandover handover)
    {
        var records = handover.TakeOver();
        if (records is null) return;
        lock (_receiveGate) _plaintext = new byte[1 << 14 | 1024]; // largest record plaintext (RFC 6347 §4.1) and margin
        _records = records;
    }

    /// <summary>
    /// Splits a datagram into records (RFC 6347 §4.1: several may share one) on the caller's thread (the socket's
    /// receive thread): application data and alerts of epoch 1 are opened here and passed up at once; handshake and
    /// change_cipher_spec records (a peer retransmitting its last flight) and anything of epoch 0 go to BouncyCastle.
    /// </summary>
    private void DeliverRecords(DtlsRecordProtection records, ReadOnlySpan<byte> datagram)
    {
        while (datagram.Length >= DtlsRecordProtection.HeaderSize)
        {
            var length = DtlsRecordProtection.HeaderSize + BinaryPrimitives.ReadUInt16BigEndian(datagram[11..]);
            if (length > datagram.Length) break; // truncated: dropped like BouncyCastle does
            var record = datagram[..length];
            datagram = datagram[length..];
            var type = record[0];
            var epoch = BinaryPrimitives.ReadUInt16BigEndian(record[3..]);
            if (type is ContentApplicationData or ContentAlert && epoch != 0)
            {
                OpenRecord(records, type, record);
                if (_finished == 1) return;
            }
            else
            {
                _queue.Enqueue(record);
            }
        }
    }

    private void OpenRecord(DtlsRecordProtection records, byte type, ReadOnlySpan<byte> record)
    {
        lock (_receiveGate)
        {
            if (!records.TryOpen(record, _plaintext, out var length)) return;
            if (type == ContentAlert)
            {
                OnAlert(_plaintext.AsSpan(0, length));
                return;
            }
            if (!_open) return;
            try
            {
                Received?.Invoke(_plaintext.AsSpan(0, length));
            }
            catch (Exception e)
            {
                // a layer above must not kill the socket's receive thread; it sees its own error
                Log.Closed(_logger, Role, $"receive handler threw {e.GetType().Name}: {e.Message} (packet dropped)");
            }
        }
    }

    private void OnAlert(ReadOnlySpan<byte> alert)
    {
        if (alert.Length != 2) return; // authenticated but malformed: ignored, as BouncyCastle does
        if (alert[0] == AlertLevel.fatal)
        {
            _peerFailed = true;
            Finish($"the peer sent the fatal alert {AlertDescription.GetText(alert[1])}");
        }
        else if (alert[1] == AlertDescription.close_notify)
        {
            Finish(_aborted ? _abortReason : null);
        }
    }

    private void SendRecord(DtlsRecordProtection records, ReadOnlySpan<byte> packet)
    {
        try
        {
            if (SegmentSender is not null && _burstDepth > 0 && Monitor.IsEntered(_burstGate))
                records.Seal(ContentApplicationData, packet, _appendToBurst ??= AppendToBurst);
            else
                records.Seal(ContentApplicationData, packet, _queue.Send);
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            Finish($"sending failed: {e.Message}");
            throw new InvalidOperationException($"the DTLS transport is closed: {e.Message}", e);
        }
    }

    // A burst (IPacketTransport.BeginBurst/EndBurst, one SCTP TrySend): records are sealed into _burst and leave in
    // as few sends as UDP segmentation offload allows: a run of records of one size, the last one possibly shorter.
    private const int MaxBurstRecords = 64, MaxBurstBytes = 65000;
    private readonly object _burstGate = new();
    private byte[] _burst = [];
    private int _burstDepth, _burstLength, _burstSegment, _burstCount;
    private bool _burstEnded;
    private Action<ReadOnlySpan<byte>>? _appendToBurst;

    /// <summary>Sends datagrams of one size packed together (segment size second); set where the path can (over ICE).</summary>
    internal Action<ReadOnlySpan<byte>, int>? SegmentSender { get; set; }

    /// <inheritdoc />
    public void BeginBurst()
    {
        if (SegmentSender is null) return;
        Monitor.Enter(_burstGate);
        _burstDepth++;
    }

    /// <inheritdoc />
    public void EndBurst()
    {
        if (SegmentSender is null) return;
        try
        {
            if (--_burstDepth == 0) FlushBurst();
        }
        finally
        {
            Monitor.Exit(_burstGate);
        }
    }

    /// <summary>Takes one sealed record into the burst (under the record layer's send lock and the burst lock).</summary>
    private void AppendToBurst(ReadOnlySpan<byte> record)
    {
        // every datagram of one offload send but the last must be exactly the segment size
        if (_burstCount > 0 && (_burstEnded || record.Length > _burstSegment || _burstCount == MaxBurstRecords || _burstLength + record.Length > MaxBurstBytes))
            FlushBurst();
        if (_burstCount == 0)
        {
            _burstSegment = record.Length;
            _burstEnded = false;
        }
        else if (record.Length < _burstSegment)
        {
            _burstEnded = true;
        }
        if (_burst.Length < _burstLength + record.Length) Array.Resize(ref _burst, Math.Max(MaxBurstBytes, _burstLength + record.Length));
        record.CopyTo(_burst.AsSpan(_burstLength));
        _burstLength += record.Length;
        _burstCount++;
    }

    private void FlushBurst()
    {
        if (_burstCount == 0) return;
        var datagrams = _burst.AsSpan(0, _burstLength);
        if (_burstCount == 1) _queue.Send(datagrams);
        else if (!_queue.IsClosed) SegmentSender!(datagrams, _burstSegment);
        _burstCount = _burstLength = 0;
    }

    /// <summary>close_notify through our record layer (BouncyCastle's sequence numbers lie below the peer's window by now).</summary>
    private void SendCloseNotify(DtlsRecordProtection records)
    {
        try
        {
            records.Seal(ContentAlert, [(byte)AlertLevel.warning, (byte)AlertDescription.close_notify], _queue.Send);
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            // closing anyway
        }
    }
}
