using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace VirtualCluster.P2P.Stun;

/// <summary>
/// Writes a STUN message (RFC 8489 §5, §14): header, attributes padded to four bytes with zeros, then optionally
/// MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, in that order, each computed over what precedes it.
/// </summary>
public sealed class StunMessageBuilder
{
    private byte[] _buffer = new byte[256];
    private int _length;
    private bool _sealed;

    /// <summary>Starts a message of the given method and class.</summary>
    public StunMessageBuilder(StunMethod method, StunClass cls, StunTransactionId transactionId)
    {
        TransactionId = transactionId;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer, StunConstants.EncodeType(method, cls));
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.AsSpan(4), StunConstants.MagicCookie);
        transactionId.Write(_buffer.AsSpan(8));
        _length = StunConstants.HeaderLength;
        SetLength();
    }

    /// <summary>The transaction id written in the header.</summary>
    public StunTransactionId TransactionId { get; }

    /// <summary>A response to <paramref name="request"/>: same method and transaction id.</summary>
    public static StunMessageBuilder ResponseTo(StunMessage request, bool success) =>
        new(request.Method, success ? StunClass.SuccessResponse : StunClass.ErrorResponse, request.TransactionId);

    /// <summary>Adds an attribute with a raw value.</summary>
    public StunMessageBuilder Add(ushort type, ReadOnlySpan<byte> value)
    {
        if (_sealed && type is not (StunAttributeType.MessageIntegritySha256 or StunAttributeType.Fingerprint))
            throw new InvalidOperationException("attributes after MESSAGE-INTEGRITY are ignored by receivers; add them before it");
        if (value.Length > ushort.MaxValue) throw new ArgumentException("attribute value too long", nameof(value));
        var padded = (value.Length + 3) & ~3;
        var header = Reserve(4 + padded);
        BinaryPrimitives.WriteUInt16BigEndian(header, type);
        BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)value.Length);
        value.CopyTo(header[4..]);
        header[(4 + value.Length)..].Clear();
        return this;
    }

    /// <summary>Adds a UTF-8 text attribute (USERNAME, REALM, NONCE, SOFTWARE).</summary>
    public StunMessageBuilder Add(ushort type, string value) => Add(type, Encoding.UTF8.GetBytes(value));

    /// <summary>Adds a 32-bit attribute (PRIORITY, LIFETIME, REQUESTED-TRANSPORT, CHANNEL-NUMBER).</summary>
    public StunMessageBuilder AddUInt32(ushort type, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return Add(type, bytes);
    }

    /// <summary>Adds a 64-bit attribute (ICE-CONTROLLING, ICE-CONTROLLED).</summary>
    public StunMessageBuilder AddUInt64(ushort type, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        return Add(type, bytes);
    }

    /// <summary>Adds an attribute with no value (USE-CANDIDATE, DONT-FRAGMENT).</summary>
    public StunMessageBuilder AddFlag(ushort type) => Add(type, ReadOnlySpan<byte>.Empty);

    /// <summary>Adds an XOR-encoded address (RFC 8489 §14.2).</summary>
    public StunMessageBuilder AddXorAddress(ushort type, IPEndPoint endPoint)
    {
        Span<byte> value = stackalloc byte[StunAddressCodec.EncodedLength(endPoint)];
        StunAddressCodec.Write(value, endPoint, xor: true, TransactionId);
        return Add(type, value);
    }

    /// <summary>Adds a plain address (RFC 8489 §14.1).</summary>
    public StunMessageBuilder AddAddress(ushort type, IPEndPoint endPoint)
    {
        Span<byte> value = stackalloc byte[StunAddressCodec.EncodedLength(endPoint)];
        StunAddressCodec.Write(value, endPoint, xor: false, TransactionId);
        return Add(type, value);
    }

    /// <summary>Adds ERROR-CODE (RFC 8489 §14.8); <paramref name="code"/> must be 300-699.</summary>
    public StunMessageBuilder AddErrorCode(int code, string reason)
    {
        if (code is < 300 or > 699) throw new ArgumentOutOfRangeException(nameof(code), code, "STUN error codes are 300-699");
        var text = Encoding.UTF8.GetBytes(reason);
        var value = new byte[4 + Math.Min(text.Length, 763)];
        value[2] = (byte)(code / 100);
        value[3] = (byte)(code % 100);
        text.AsSpan(0, value.Length - 4).CopyTo(value.AsSpan(4));
        return Add(StunAttributeType.ErrorCode, value);
    }

    /// <summary>Adds UNKNOWN-ATTRIBUTES (RFC 8489 §14.9).</summary>
    public StunMessageBuilder AddUnknownAttributes(IReadOnlyList<ushort> types)
    {
        var value = new byte[types.Count * 2];
        for (var i = 0; i < types.Count; i++) BinaryPrimitives.WriteUInt16BigEndian(value.AsSpan(2 * i), types[i]);
        return Add(StunAttributeType.UnknownAttributes, value);
    }

    /// <summary>Adds MESSAGE-INTEGRITY: HMAC-SHA1 over the message so far with the length covering this attribute (RFC 8489 §14.5).</summary>
    public StunMessageBuilder AddMessageIntegrity(ReadOnlySpan<byte> key)
    {
        var start = _length;
        _length += 24;
        SetLength();
        _length = start;
        Span<byte> mac = stackalloc byte[20];
        HMACSHA1.HashData(key, _buffer.AsSpan(0, start), mac);
        Add(StunAttributeType.MessageIntegrity, mac);
        _sealed = true;
        return this;
    }

    /// <summary>Adds MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6), full 32 bytes.</summary>
    public StunMessageBuilder AddMessageIntegritySha256(ReadOnlySpan<byte> key)
    {
        var start = _length;
        _length += 36;
        SetLength();
        _length = start;
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(key, _buffer.AsSpan(0, start), mac);
        _sealed = false;
        Add(StunAttributeType.MessageIntegritySha256, mac);
        _sealed = true;
        return this;
    }

    /// <summary>Adds FINGERPRINT: CRC-32 of the message so far, length covering this attribute, XOR 0x5354554e (RFC 8489 §14.7).</summary>
    public byte[] AddFingerprintAndBuild()
    {
        var start = _length;
        _length += 8;
        SetLength();
        _length = start;
        var crc = Crc32.Compute(_buffer.AsSpan(0, start)) ^ StunConstants.FingerprintXor;
        _sealed = false;
        AddUInt32(StunAttributeType.Fingerprint, crc);
        _sealed = true;
        return Build();
    }

    /// <summary>The message bytes.</summary>
    public byte[] Build() => _buffer.AsSpan(0, _length).ToArray();

    private Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        var span = _buffer.AsSpan(_length, count);
        _length += count;
        SetLength();
        return span;
    }

    private void SetLength() =>
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(2), (ushort)(_length - StunConstants.HeaderLength));
}
