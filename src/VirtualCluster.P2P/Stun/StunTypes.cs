using System.Buffers.Binary;
using System.Security.Cryptography;

namespace VirtualCluster.P2P.Stun;

/// <summary>The class of a STUN message (RFC 8489 §5): two bits spread over the message type.</summary>
public enum StunClass
{
    /// <summary>A request; expects a response.</summary>
    Request = 0,
    /// <summary>An indication; no response.</summary>
    Indication = 1,
    /// <summary>A success response.</summary>
    SuccessResponse = 2,
    /// <summary>An error response, carrying ERROR-CODE.</summary>
    ErrorResponse = 3,
}

/// <summary>STUN methods: Binding (RFC 8489 §18.2) and the TURN methods (RFC 8656 §17).</summary>
public enum StunMethod : ushort
{
    /// <summary>Binding: learn the reflexive address; ICE connectivity checks.</summary>
    Binding = 0x001,
    /// <summary>TURN Allocate.</summary>
    Allocate = 0x003,
    /// <summary>TURN Refresh.</summary>
    Refresh = 0x004,
    /// <summary>TURN Send (indication only).</summary>
    Send = 0x006,
    /// <summary>TURN Data (indication only).</summary>
    Data = 0x007,
    /// <summary>TURN CreatePermission.</summary>
    CreatePermission = 0x008,
    /// <summary>TURN ChannelBind.</summary>
    ChannelBind = 0x009,
}

/// <summary>Attribute types used by STUN (RFC 8489 §18.3), TURN (RFC 8656 §18) and ICE (RFC 8445 §16.1).</summary>
public static class StunAttributeType
{
    public const ushort MappedAddress = 0x0001;
    public const ushort Username = 0x0006;
    public const ushort MessageIntegrity = 0x0008;
    public const ushort ErrorCode = 0x0009;
    public const ushort UnknownAttributes = 0x000A;
    public const ushort ChannelNumber = 0x000C;
    public const ushort Lifetime = 0x000D;
    public const ushort XorPeerAddress = 0x0012;
    public const ushort Data = 0x0013;
    public const ushort Realm = 0x0014;
    public const ushort Nonce = 0x0015;
    public const ushort XorRelayedAddress = 0x0016;
    public const ushort RequestedAddressFamily = 0x0017;
    public const ushort EvenPort = 0x0018;
    public const ushort RequestedTransport = 0x0019;
    public const ushort DontFragment = 0x001A;
    public const ushort MessageIntegritySha256 = 0x001C;
    public const ushort PasswordAlgorithm = 0x001D;
    public const ushort Userhash = 0x001E;
    public const ushort XorMappedAddress = 0x0020;
    public const ushort ReservationToken = 0x0022;
    public const ushort Priority = 0x0024;
    public const ushort UseCandidate = 0x0025;
    public const ushort PasswordAlgorithms = 0x8002;
    public const ushort AlternateDomain = 0x8003;
    public const ushort Software = 0x8022;
    public const ushort AlternateServer = 0x8023;
    public const ushort Fingerprint = 0x8028;
    public const ushort IceControlled = 0x8029;
    public const ushort IceControlling = 0x802A;

    /// <summary>Types 0x0000-0x7FFF are comprehension-required (RFC 8489 §14): an unknown one in a request gets 420.</summary>
    public static bool IsComprehensionRequired(ushort type) => type < 0x8000;
}

/// <summary>The 96-bit transaction id of a STUN message (RFC 8489 §5). A value type, usable as a dictionary key.</summary>
public readonly record struct StunTransactionId(ulong High, uint Low)
{
    /// <summary>A new cryptographically random id, as RFC 8489 §5 requires.</summary>
    public static StunTransactionId New()
    {
        Span<byte> bytes = stackalloc byte[12];
        RandomNumberGenerator.Fill(bytes);
        return Read(bytes);
    }

    /// <summary>Reads 12 bytes.</summary>
    public static StunTransactionId Read(ReadOnlySpan<byte> bytes) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt32BigEndian(bytes[8..]));

    /// <summary>Writes 12 bytes.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, High);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], Low);
    }

    /// <inheritdoc />
    public override string ToString() => $"{High:x16}{Low:x8}";
}

/// <summary>Constants of the STUN wire format.</summary>
public static class StunConstants
{
    /// <summary>The magic cookie 0x2112A442 (RFC 8489 §5).</summary>
    public const uint MagicCookie = 0x2112A442;

    /// <summary>Header size in bytes.</summary>
    public const int HeaderLength = 20;

    /// <summary>XORed into the CRC-32 of FINGERPRINT (RFC 8489 §14.7).</summary>
    public const uint FingerprintXor = 0x5354554E;

    /// <summary>Encodes method and class into the 14-bit message type (RFC 8489 §5, figure 3).</summary>
    public static ushort EncodeType(StunMethod method, StunClass cls)
    {
        var m = (int)method;
        var c = (int)cls;
        return (ushort)(((m & 0xF80) << 2) | ((m & 0x070) << 1) | (m & 0x00F) | ((c & 2) << 7) | ((c & 1) << 4));
    }

    /// <summary>Splits a message type into method and class.</summary>
    public static (StunMethod Method, StunClass Class) DecodeType(ushort type)
    {
        var m = ((type & 0x3E00) >> 2) | ((type & 0x00E0) >> 1) | (type & 0x000F);
        var c = ((type >> 7) & 2) | ((type >> 4) & 1);
        return ((StunMethod)m, (StunClass)c);
    }
}
