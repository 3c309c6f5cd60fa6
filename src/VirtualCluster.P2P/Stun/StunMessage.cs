using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace VirtualCluster.P2P.Stun;

/// <summary>Where one attribute's value lies in <see cref="StunMessage.Raw"/>.</summary>
public readonly record struct StunAttribute(ushort Type, int Offset, int Length);

/// <summary>
/// A parsed STUN message (RFC 8489 §5, §14). Parsing never throws: <see cref="TryParse"/> returns false for anything
/// that is not a well-formed message, and allocates only in proportion to the input (one copy plus one small entry per
/// attribute). Attributes after MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are ignored, as
/// §14.5 requires; FINGERPRINT must be last (§14.7).
/// </summary>
public sealed class StunMessage
{
    private readonly byte[] _raw;
    private readonly StunAttribute[] _attributes;

    private StunMessage(byte[] raw, StunMethod method, StunClass cls, StunTransactionId id, StunAttribute[] attributes,
        int integrityOffset, int integritySha256Offset, int fingerprintOffset)
    {
        _raw = raw;
        Method = method;
        Class = cls;
        TransactionId = id;
        _attributes = attributes;
        IntegrityOffset = integrityOffset;
        IntegritySha256Offset = integritySha256Offset;
        FingerprintOffset = fingerprintOffset;
    }

    /// <summary>The method (Binding, Allocate, ...).</summary>
    public StunMethod Method { get; }

    /// <summary>Request, indication, success or error response.</summary>
    public StunClass Class { get; }

    /// <summary>The 96-bit transaction id.</summary>
    public StunTransactionId TransactionId { get; }

    /// <summary>The whole message as received.</summary>
    public ReadOnlyMemory<byte> Raw => _raw;

    /// <summary>Attributes in wire order (those that count: see the class remarks).</summary>
    public IReadOnlyList<StunAttribute> Attributes => _attributes;

    /// <summary>Offset of the MESSAGE-INTEGRITY attribute header, or -1.</summary>
    public int IntegrityOffset { get; }

    /// <summary>Offset of the MESSAGE-INTEGRITY-SHA256 attribute header, or -1.</summary>
    public int IntegritySha256Offset { get; }

    /// <summary>Offset of the FINGERPRINT attribute header, or -1.</summary>
    public int FingerprintOffset { get; }

    /// <summary>True when the message carries MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256.</summary>
    public bool HasIntegrity => IntegrityOffset >= 0 || IntegritySha256Offset >= 0;

    /// <summary>
    /// Quick test that a datagram looks like STUN (RFC 8489 §5 and RFC 7983 §7): first two bits zero, the magic cookie,
    /// a length that is a multiple of four and matches the datagram.
    /// </summary>
    public static bool LooksLikeStun(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= StunConstants.HeaderLength
        && (datagram[0] & 0xC0) == 0
        && BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) == StunConstants.MagicCookie
        && BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]) is var length
        && (length & 3) == 0
        && length + StunConstants.HeaderLength == datagram.Length;

    /// <summary>Parses one STUN message that fills the whole datagram. Returns false, never throws, on malformed input.</summary>
    public static bool TryParse(ReadOnlySpan<byte> datagram, [NotNullWhen(true)] out StunMessage? message)
    {
        message = null;
        if (!LooksLikeStun(datagram)) return false;
        var (method, cls) = StunConstants.DecodeType(BinaryPrimitives.ReadUInt16BigEndian(datagram));
        var id = StunTransactionId.Read(datagram[8..]);

        var offset = StunConstants.HeaderLength;
        var attributes = new List<StunAttribute>(Math.Min(8, (datagram.Length - offset) / 4));
        int integrity = -1, integrity256 = -1, fingerprint = -1;
        while (offset < datagram.Length)
        {
            if (datagram.Length - offset < 4) return false;
            var type = BinaryPrimitives.ReadUInt16BigEndian(datagram[offset..]);
            int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[(offset + 2)..]);
            var padded = (length + 3) & ~3;
            if (padded > datagram.Length - offset - 4) return false;
            if (fingerprint >= 0) return false; // FINGERPRINT must be the last attribute
            var valueOffset = offset + 4;
            switch (type)
            {
                case StunAttributeType.Fingerprint:
                    if (length != 4) return false;
                    fingerprint = offset;
                    break;
                case StunAttributeType.MessageIntegrity:
                    if (length != 20 || integrity >= 0 || integrity256 >= 0) return false;
                    integrity = offset;
                    break;
                case StunAttributeType.MessageIntegritySha256:
                    if (length is < 16 or > 32 || (length & 3) != 0 || integrity256 >= 0) return false;
                    integrity256 = offset;
                    break;
                default:
                    if (integrity >= 0 || integrity256 >= 0) break; // ignored after MESSAGE-INTEGRITY (§14.5)
                    attributes.Add(new StunAttribute(type, valueOffset, length));
                    break;
            }
            offset = valueOffset + padded;
        }
        message = new StunMessage(datagram.ToArray(), method, cls, id, [.. attributes], integrity, integrity256, fingerprint);
        return true;
    }

    /// <summary>The first attribute of a type, if present.</summary>
    public bool TryGetAttribute(ushort type, out ReadOnlySpan<byte> value)
    {
        foreach (var a in _attributes)
        {
            if (a.Type != type) continue;
            value = _raw.AsSpan(a.Offset, a.Length);
            return true;
        }
        value = default;
        return false;
    }

    /// <summary>True when the message has an attribute of this type (e.g. USE-CANDIDATE).</summary>
    public bool Has(ushort type) => TryGetAttribute(type, out _);

    /// <summary>A UTF-8 text attribute (USERNAME, REALM, NONCE, SOFTWARE), or null. Invalid UTF-8 gives replacement characters.</summary>
    public string? GetString(ushort type) => TryGetAttribute(type, out var value) ? Encoding.UTF8.GetString(value) : null;

    /// <summary>A 32-bit attribute (PRIORITY, LIFETIME), or null when absent or of the wrong size.</summary>
    public uint? GetUInt32(ushort type) =>
        TryGetAttribute(type, out var value) && value.Length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(value) : null;

    /// <summary>A 64-bit attribute (ICE-CONTROLLING, ICE-CONTROLLED), or null when absent or of the wrong size.</summary>
    public ulong? GetUInt64(ushort type) =>
        TryGetAttribute(type, out var value) && value.Length == 8 ? BinaryPrimitives.ReadUInt64BigEndian(value) : null;

    /// <summary>An XOR-encoded address (XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS; RFC 8489 §14.2).</summary>
    public bool TryGetXorAddress(ushort type, [NotNullWhen(true)] out IPEndPoint? endPoint)
    {
        endPoint = null;
        return TryGetAttribute(type, out var value) && StunAddressCodec.TryRead(value, xor: true, TransactionId, out endPoint);
    }

    /// <summary>A plain address (MAPPED-ADDRESS, ALTERNATE-SERVER; RFC 8489 §14.1).</summary>
    public bool TryGetAddress(ushort type, [NotNullWhen(true)] out IPEndPoint? endPoint)
    {
        endPoint = null;
        return TryGetAttribute(type, out var value) && StunAddressCodec.TryRead(value, xor: false, TransactionId, out endPoint);
    }

    /// <summary>ERROR-CODE (RFC 8489 §14.8): code 300-699 and the reason phrase.</summary>
    public bool TryGetError(out int code, out string reason)
    {
        code = 0;
        reason = "";
        if (!TryGetAttribute(StunAttributeType.ErrorCode, out var value) || value.Length < 4) return false;
        var cls = value[2] & 0x07;
        var number = value[3];
        if (cls is < 3 or > 6 || number > 99) return false;
        code = cls * 100 + number;
        reason = Encoding.UTF8.GetString(value[4..]);
        return true;
    }

    /// <summary>UNKNOWN-ATTRIBUTES (RFC 8489 §14.9): the list of types, empty when absent or malformed.</summary>
    public IReadOnlyList<ushort> GetUnknownAttributes()
    {
        if (!TryGetAttribute(StunAttributeType.UnknownAttributes, out var value) || (value.Length & 1) != 0) return [];
        var list = new ushort[value.Length / 2];
        for (var i = 0; i < list.Length; i++) list[i] = BinaryPrimitives.ReadUInt16BigEndian(value[(2 * i)..]);
        return list;
    }

    /// <summary>True when FINGERPRINT is present and matches CRC-32 XOR 0x5354554e over the message before it (RFC 8489 §14.7).</summary>
    public bool CheckFingerprint()
    {
        if (FingerprintOffset < 0) return false;
        var expected = BinaryPrimitives.ReadUInt32BigEndian(_raw.AsSpan(FingerprintOffset + 4));
        return (Crc32.Compute(_raw.AsSpan(0, FingerprintOffset)) ^ StunConstants.FingerprintXor) == expected;
    }

    /// <summary>
    /// Verifies MESSAGE-INTEGRITY-SHA256 when present, else MESSAGE-INTEGRITY (RFC 8489 §14.5, §14.6) with a key from
    /// <see cref="StunCredentials"/>. False when neither is present.
    /// </summary>
    public bool VerifyIntegrity(ReadOnlySpan<byte> key)
    {
        if (IntegritySha256Offset >= 0) return Verify(IntegritySha256Offset, key, sha256: true);
        return IntegrityOffset >= 0 && Verify(IntegrityOffset, key, sha256: false);
    }

    private bool Verify(int offset, ReadOnlySpan<byte> key, bool sha256)
    {
        int length = BinaryPrimitives.ReadUInt16BigEndian(_raw.AsSpan(offset + 2));
        var covered = _raw.AsSpan(0, offset);
        var header = covered.Length <= 2048 ? stackalloc byte[covered.Length] : new byte[covered.Length];
        covered.CopyTo(header);
        // The length field covers everything up to the end of this attribute (§14.5).
        BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)(offset - StunConstants.HeaderLength + 4 + length));
        Span<byte> mac = stackalloc byte[32];
        var written = sha256 ? HMACSHA256.HashData(key, header, mac) : HMACSHA1.HashData(key, header, mac);
        var expected = _raw.AsSpan(offset + 4, length);
        return length <= written && CryptographicOperations.FixedTimeEquals(mac[..length], expected);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Method} {Class} {TransactionId}";
}
