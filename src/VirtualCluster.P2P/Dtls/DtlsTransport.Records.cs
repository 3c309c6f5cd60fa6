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
            records.Seal(ContentApplicationData, packet, _queue.Send);
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            Finish($"sending failed: {e.Message}");
            throw new InvalidOperationException($"the DTLS transport is closed: {e.Message}", e);
        }
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
