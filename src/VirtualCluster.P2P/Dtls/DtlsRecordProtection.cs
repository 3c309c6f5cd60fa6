using System.Buffers.Binary;
using System.Security.Cryptography;

namespace VirtualCluster.P2P.Dtls;

/// <summary>
/// The keys of an AES-GCM cipher suite (RFC 5288) as the key block gives them (RFC 5246 §6.3), captured when
/// BouncyCastle builds the epoch-1 cipher, so that <see cref="DtlsRecordProtection"/> can protect application data
/// after BouncyCastle's handshake.
/// </summary>
internal sealed class DtlsRecordKeys(byte[] writeKey, byte[] readKey, byte[] writeIv, byte[] readIv)
{
    public byte[] WriteKey { get; } = writeKey;
    public byte[] ReadKey { get; } = readKey;
    public byte[] WriteIv { get; } = writeIv;
    public byte[] ReadIv { get; } = readIv;
}

/// <summary>
/// The DTLS 1.2 record layer for epoch 1 application data and alerts (RFC 6347 §4.1, AES-GCM per RFC 5288), done
/// here instead of in BouncyCastle after its handshake: no allocation per record (the nonce and additional data are
/// on the stack, the ciphertext is written straight into a reused send buffer, received records are decrypted into
/// a reused buffer) and no hand-over of each datagram to another thread. Replays and records of another epoch are
/// refused (§4.1.2.6 sliding window of 64); a record that fails authentication is dropped, never fatal (§4.1.2.7).
/// </summary>
/// <remarks>
/// Write sequence numbers start above every number BouncyCastle used in epoch 1 plus <see cref="ReservedForHandshake"/>,
/// which stays BouncyCastle's for retransmitting its final flight, so no (key, nonce) pair is ever used twice.
/// Seal is serialised by its own lock, Open by another: a sender and a receiver never wait for each other.
/// </remarks>
internal sealed class DtlsRecordProtection : IDisposable
{
    public const int HeaderSize = 13, ExplicitNonceSize = 8, TagSize = 16, Overhead = HeaderSize + ExplicitNonceSize + TagSize;
    public const ushort Epoch = 1;
    /// <summary>Sequence numbers after BouncyCastle's last one in epoch 1 that stay its own (final-flight retransmissions).</summary>
    public const long ReservedForHandshake = 32;
    private const long MaxSequence = (1L << 48) - 1;
    private const ushort Dtls12 = 0xFEFD;

    private readonly AesGcm _encrypt, _decrypt;
    private readonly byte[] _writeIv, _readIv;
    private readonly object _sendGate = new();
    private readonly DtlsReplayWindow _window;
    private long _nextSequence;
    private byte[] _sendBuffer = new byte[2048];

    public DtlsRecordProtection(DtlsRecordKeys keys, long firstSequence, DtlsReplayWindow window)
    {
        _encrypt = new AesGcm(keys.WriteKey, TagSize);
        _decrypt = new AesGcm(keys.ReadKey, TagSize);
        _writeIv = keys.WriteIv;
        _readIv = keys.ReadIv;
        _nextSequence = firstSequence;
        _window = window;
    }

    /// <summary>Records refused: failed authentication, replayed, outside the window, or of another epoch.</summary>
    public long Refused => Interlocked.Read(ref _refused);
    private long _refused;

    /// <summary>Protects one record of <paramref name="contentType"/> and hands it to <paramref name="send"/> (under the send lock).</summary>
    public void Seal(byte contentType, ReadOnlySpan<byte> plaintext, Action<ReadOnlySpan<byte>> send)
    {
        lock (_sendGate)
        {
            if (_nextSequence > MaxSequence) throw new InvalidOperationException("the DTLS epoch's sequence numbers are used up (2^48 records)");
            var sequence = (long)Epoch << 48 | _nextSequence++;
            var length = Overhead + plaintext.Length;
            if (_sendBuffer.Length < length) _sendBuffer = new byte[Math.Max(length, _sendBuffer.Length * 2)];
            var record = _sendBuffer.AsSpan(0, length);
            record[0] = contentType;
            BinaryPrimitives.WriteUInt16BigEndian(record[1..], Dtls12);
            BinaryPrimitives.WriteInt64BigEndian(record[3..], sequence); // epoch (2 bytes) and sequence number (6)
            BinaryPrimitives.WriteUInt16BigEndian(record[11..], (ushort)(length - HeaderSize));
            // RFC 5288: the explicit nonce may be the sequence number, which is unique per key by construction
            BinaryPrimitives.WriteInt64BigEndian(record[HeaderSize..], sequence);
            Span<byte> nonce = stackalloc byte[12];
            _writeIv.CopyTo(nonce);
            BinaryPrimitives.WriteInt64BigEndian(nonce[4..], sequence);
            Span<byte> aad = stackalloc byte[13];
            AdditionalData(aad, record, plaintext.Length);
            var body = record[(HeaderSize + ExplicitNonceSize)..];
            _encrypt.Encrypt(nonce, plaintext, body[..plaintext.Length], body[plaintext.Length..], aad);
            send(record);
        }
    }

    /// <summary>
    /// Authenticates and decrypts one epoch-1 record (<paramref name="record"/> is header and body) into
    /// <paramref name="plaintext"/>; false (and counted) if it is malformed, replayed, of another epoch or forged.
    /// Callers serialise Open (the receive path holds its own lock).
    /// </summary>
    public bool TryOpen(ReadOnlySpan<byte> record, Span<byte> plaintext, out int length)
    {
        length = 0;
        if (record.Length < Overhead || BinaryPrimitives.ReadUInt16BigEndian(record[3..]) != Epoch
            || BinaryPrimitives.ReadUInt16BigEndian(record[1..]) != Dtls12 || record.Length - Overhead > plaintext.Length)
        {
            Interlocked.Increment(ref _refused);
            return false;
        }
        var sequence = (long)(BinaryPrimitives.ReadUInt64BigEndian(record[3..]) & MaxSequence);
        if (!_window.MayAccept(sequence))
        {
            Interlocked.Increment(ref _refused);
            return false;
        }
        length = record.Length - Overhead;
        Span<byte> nonce = stackalloc byte[12];
        _readIv.CopyTo(nonce);
        record.Slice(HeaderSize, ExplicitNonceSize).CopyTo(nonce[4..]);
        Span<byte> aad = stackalloc byte[13];
        AdditionalData(aad, record, length);
        var body = record[(HeaderSize + ExplicitNonceSize)..];
        try
        {
            _decrypt.Decrypt(nonce, body[..length], body[length..], plaintext[..length], aad);
        }
        catch (Exception e) when (e is CryptographicException or ObjectDisposedException)
        {
            // forged, corrupt, or for another key: dropped without a word (RFC 6347 §4.1.2.7); or closed meanwhile
            Interlocked.Increment(ref _refused);
            length = 0;
            return false;
        }
        _window.Accept(sequence);
        return true;
    }

    /// <summary>seq_num (epoch and sequence number) + type + version + plaintext length (RFC 5246 §6.2.3.3).</summary>
    private static void AdditionalData(Span<byte> aad, ReadOnlySpan<byte> header, int plaintextLength)
    {
        header.Slice(3, 8).CopyTo(aad);
        aad[8] = header[0];
        aad[9] = header[1];
        aad[10] = header[2];
        BinaryPrimitives.WriteUInt16BigEndian(aad[11..], (ushort)plaintextLength);
    }

    public void Dispose()
    {
        lock (_sendGate) _encrypt.Dispose();
        _decrypt.Dispose();
    }
}

/// <summary>
/// The anti-replay window of RFC 6347 §4.1.2.6 for one epoch: the highest authenticated sequence number and a
/// bitmap of the 64 below it. Shared by BouncyCastle's decoding (through <see cref="DiscardingCipher"/>, for records
/// it handled before the hand-over) and <see cref="DtlsRecordProtection"/>, so a record is accepted once.
/// </summary>
internal sealed class DtlsReplayWindow
{
    private const int Size = 64;
    private readonly object _gate = new();
    private long _highest = -1;
    private ulong _bitmap;

    /// <summary>False for a number already accepted or too old for the window.</summary>
    public bool MayAccept(long sequence)
    {
        lock (_gate)
        {
            if (sequence > _highest) return true;
            var behind = _highest - sequence;
            return behind < Size && (_bitmap & (1UL << (int)behind)) == 0;
        }
    }

    /// <summary>Marks an authenticated record's number.</summary>
    public void Accept(long sequence)
    {
        lock (_gate)
        {
            if (sequence > _highest)
            {
                var shift = sequence - _highest;
                _bitmap = shift >= Size ? 1UL : (_bitmap << (int)shift) | 1UL;
                _highest = sequence;
                return;
            }
            var behind = _highest - sequence;
            if (behind < Size) _bitmap |= 1UL << (int)behind;
        }
    }
}
