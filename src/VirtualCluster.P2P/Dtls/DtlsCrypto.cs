using System.Security.Cryptography;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace VirtualCluster.P2P.Dtls;

/// <summary>
/// BouncyCastle's TLS crypto with one change: the AES-GCM record cipher is the platform's
/// <see cref="System.Security.Cryptography.AesGcm"/> (OpenSSL with AES-NI and carry-less multiply) instead of
/// BouncyCastle's managed GCM, which re-expanded the AES key for every record. BouncyCastle still builds the nonces
/// and additional data, counts sequence numbers and checks replays (its <see cref="TlsAeadCipher"/>); only the AEAD
/// primitive underneath is swapped, through the crypto provider's documented extension point.
/// </summary>
internal sealed class DtlsCrypto(SecureRandom random) : BcTlsCrypto(random)
{
    public static DtlsCrypto Create() => new(new SecureRandom());

    /// <summary>What the record layer after the handshake needs: the epoch-1 keys (AES-GCM suites only), the
    /// sequence numbers BouncyCastle used, and the replay window both share.</summary>
    public DtlsHandover Handover { get; } = new();

    public override TlsCipher CreateCipher(TlsCryptoParameters cryptoParams, int encryptionAlgorithm, int macAlgorithm)
    {
        var keySize = encryptionAlgorithm switch
        {
            Org.BouncyCastle.Tls.EncryptionAlgorithm.AES_128_GCM => 16,
            Org.BouncyCastle.Tls.EncryptionAlgorithm.AES_256_GCM => 32,
            _ => 0,
        };
        if (keySize > 0 && AesGcm.IsSupported)
        {
            // The same key block BouncyCastle derives for its own cipher (RFC 5246 §6.3: client key, server key,
            // client IV, server IV; no MAC keys with AEAD); deriving it does not consume the master secret.
            var block = TlsImplUtilities.CalculateKeyBlock(cryptoParams, 2 * keySize + 8);
            var client = (Key: block[..keySize], Iv: block[(2 * keySize)..(2 * keySize + 4)]);
            var server = (Key: block[keySize..(2 * keySize)], Iv: block[(2 * keySize + 4)..]);
            Handover.Keys = cryptoParams.IsServer
                ? new DtlsRecordKeys(server.Key, client.Key, server.Iv, client.Iv)
                : new DtlsRecordKeys(client.Key, server.Key, client.Iv, server.Iv);
            CryptographicOperations.ZeroMemory(block);
        }
        return new DiscardingCipher(base.CreateCipher(cryptoParams, encryptionAlgorithm, macAlgorithm), Handover);
    }

    protected override TlsAeadCipher CreateCipher_Aes_Gcm(TlsCryptoParameters cryptoParams, int cipherKeySize, int macSize) =>
        AesGcm.IsSupported && macSize == 16
            ? new TlsAeadCipher(cryptoParams, new PlatformAesGcm(encrypt: true), new PlatformAesGcm(encrypt: false), cipherKeySize, macSize, TlsAeadCipher.AEAD_GCM)
            : base.CreateCipher_Aes_Gcm(cryptoParams, cipherKeySize, macSize);
}

/// <summary>
/// Makes every record that cannot be decoded a bad_record_mac, which the record layer then drops
/// (<c>IgnoreCorruptDtlsRecords</c>), as RFC 6347 §4.1.2.7 says invalid records should be. BouncyCastle raised
/// decode_error for an epoch-1 record too short to hold the explicit nonce and tag, a fatal alert that closed the
/// connection: anyone able to send one datagram from the peer's address could end it.
/// </summary>
/// <remarks>
/// It also watches the epoch-1 sequence numbers BouncyCastle uses: the ones it sends (so that
/// <see cref="DtlsRecordProtection"/> starts above them and refuses BouncyCastle any number from there on) and the
/// ones it authenticates (marked in the shared replay window).
/// </remarks>
internal sealed class DiscardingCipher(TlsCipher inner, DtlsHandover handover) : TlsCipher
{
    public int GetCiphertextDecodeLimit(int plaintextLimit) => inner.GetCiphertextDecodeLimit(plaintextLimit);

    public int GetCiphertextEncodeLimit(int plaintextLength, int plaintextLimit) => inner.GetCiphertextEncodeLimit(plaintextLength, plaintextLimit);

    public int GetPlaintextLimit(int ciphertextLimit) => inner.GetPlaintextLimit(ciphertextLimit);

    public TlsEncodeResult EncodePlaintext(long seqNo, short contentType, Org.BouncyCastle.Tls.ProtocolVersion recordVersion, int headerAllocation,
        byte[] plaintext, int offset, int len)
    {
        handover.Encoding(seqNo);
        return inner.EncodePlaintext(seqNo, contentType, recordVersion, headerAllocation, plaintext, offset, len);
    }

    public TlsEncodeResult EncodePlaintext(long seqNo, short contentType, Org.BouncyCastle.Tls.ProtocolVersion recordVersion, int headerAllocation,
        ReadOnlySpan<byte> plaintext)
    {
        handover.Encoding(seqNo);
        return inner.EncodePlaintext(seqNo, contentType, recordVersion, headerAllocation, plaintext);
    }

    public TlsDecodeResult DecodeCiphertext(long seqNo, short recordType, Org.BouncyCastle.Tls.ProtocolVersion recordVersion, byte[] ciphertext, int offset, int len)
    {
        try
        {
            var result = inner.DecodeCiphertext(seqNo, recordType, recordVersion, ciphertext, offset, len);
            handover.Window.Accept(seqNo & ((1L << 48) - 1));
            return result;
        }
        catch (Org.BouncyCastle.Tls.TlsFatalAlert e) when (e.AlertDescription != Org.BouncyCastle.Tls.AlertDescription.bad_record_mac)
        {
            throw new Org.BouncyCastle.Tls.TlsFatalAlert(Org.BouncyCastle.Tls.AlertDescription.bad_record_mac, e);
        }
    }

    public void RekeyDecoder() => inner.RekeyDecoder();

    public void RekeyEncoder() => inner.RekeyEncoder();

    public bool UsesOpaqueRecordType => inner.UsesOpaqueRecordType;
}

/// <summary>One direction of AES-GCM with a 16-byte tag, as BouncyCastle's record layer drives it: SetKey once, then Init (nonce, additional data) and DoFinal per record.</summary>
internal sealed class PlatformAesGcm(bool encrypt) : TlsAeadCipherImpl
{
    private const int TagSize = 16;
    private AesGcm? _aes;
    private byte[] _nonce = [];
    private byte[]? _additionalData;

    public void SetKey(byte[] key, int keyOff, int keyLen) => SetKey(key.AsSpan(keyOff, keyLen));

    public void SetKey(ReadOnlySpan<byte> key)
    {
        _aes?.Dispose();
        _aes = new AesGcm(key, TagSize);
    }

    public void Init(byte[] nonce, int macSize, byte[] additionalData)
    {
        if (macSize != TagSize) throw new ArgumentException($"AES-GCM here uses {TagSize}-byte tags, not {macSize}", nameof(macSize));
        _nonce = nonce;
        _additionalData = additionalData;
    }

    public int GetOutputSize(int inputLength) => encrypt ? inputLength + TagSize : Math.Max(0, inputLength - TagSize);

    public int DoFinal(byte[] input, int inputOffset, int inputLength, byte[] output, int outputOffset) =>
        DoFinal(null, input, inputOffset, inputLength, output, outputOffset);

    public int DoFinal(byte[]? additionalData, byte[] input, int inputOffset, int inputLength, byte[] output, int outputOffset)
    {
        if (additionalData is { Length: > 0 }) _additionalData = additionalData; // BouncyCastle passes it here or in Init
        var aes = _aes ?? throw new InvalidOperationException("SetKey was not called");
        if (encrypt)
        {
            // in place is allowed when input and output are the same span (BouncyCastle encrypts records in place)
            var plaintext = input.AsSpan(inputOffset, inputLength);
            aes.Encrypt(_nonce, plaintext, output.AsSpan(outputOffset, inputLength), output.AsSpan(outputOffset + inputLength, TagSize), _additionalData);
            return inputLength + TagSize;
        }
        if (inputLength < TagSize) throw new CryptographicException("record shorter than its tag");
        var length = inputLength - TagSize;
        // a forged or corrupt record throws AuthenticationTagMismatchException: BouncyCastle turns it into bad_record_mac
        aes.Decrypt(_nonce, input.AsSpan(inputOffset, length), input.AsSpan(inputOffset + length, TagSize), output.AsSpan(outputOffset, length), _additionalData);
        return length;
    }

    public void Reset()
    {
    }
}

/// <summary>
/// State shared between BouncyCastle's handshake and our record layer after it (<see cref="DtlsRecordProtection"/>):
/// the epoch-1 keys, the highest epoch-1 sequence number BouncyCastle sent, and the limit above which it may not send.
/// </summary>
internal sealed class DtlsHandover
{
    private long _highestSent = -1;
    private long _limit = long.MaxValue;

    public DtlsRecordKeys? Keys { get; set; }

    public DtlsReplayWindow Window { get; } = new();

    /// <summary>Called for every record BouncyCastle protects (epoch in the top 16 bits).</summary>
    public void Encoding(long macSequence)
    {
        if (macSequence >> 48 != DtlsRecordProtection.Epoch) return;
        var sequence = macSequence & ((1L << 48) - 1);
        // past the reserve our own records use these numbers: sending would reuse a GCM nonce, so refuse
        if (sequence >= Interlocked.Read(ref _limit)) throw new Org.BouncyCastle.Tls.TlsFatalAlert(Org.BouncyCastle.Tls.AlertDescription.internal_error);
        long seen;
        do { seen = Interlocked.Read(ref _highestSent); }
        while (sequence > seen && Interlocked.CompareExchange(ref _highestSent, sequence, seen) != seen);
    }

    /// <summary>Takes over epoch 1: returns our record layer, or null when the suite is not AES-GCM (BouncyCastle keeps it all).</summary>
    public DtlsRecordProtection? TakeOver()
    {
        if (Keys is not { } keys) return null;
        var first = Interlocked.Read(ref _highestSent) + 1 + DtlsRecordProtection.ReservedForHandshake;
        Interlocked.Exchange(ref _limit, first);
        return new DtlsRecordProtection(keys, first, Window);
    }
}
