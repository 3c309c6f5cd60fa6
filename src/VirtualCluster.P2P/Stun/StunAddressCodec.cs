using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace VirtualCluster.P2P.Stun;

/// <summary>MAPPED-ADDRESS and XOR-MAPPED-ADDRESS value encoding (RFC 8489 §14.1, §14.2), IPv4 and IPv6.</summary>
internal static class StunAddressCodec
{
    public static int EncodedLength(IPEndPoint endPoint) => Normalize(endPoint.Address).AddressFamily == AddressFamily.InterNetwork ? 8 : 20;

    public static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    public static void Write(Span<byte> destination, IPEndPoint endPoint, bool xor, StunTransactionId id)
    {
        var address = Normalize(endPoint.Address);
        var v4 = address.AddressFamily == AddressFamily.InterNetwork;
        destination[0] = 0;
        destination[1] = (byte)(v4 ? 1 : 2);
        var port = (ushort)endPoint.Port;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], xor ? (ushort)(port ^ (StunConstants.MagicCookie >> 16)) : port);
        var bytes = destination[4..(v4 ? 8 : 20)];
        address.TryWriteBytes(bytes, out _);
        if (xor) Mask(bytes, id);
    }

    public static bool TryRead(ReadOnlySpan<byte> value, bool xor, StunTransactionId id, [NotNullWhen(true)] out IPEndPoint? endPoint)
    {
        endPoint = null;
        if (value.Length < 4) return false;
        var family = value[1];
        var length = family switch { 1 => 4, 2 => 16, _ => 0 };
        if (length == 0 || value.Length != 4 + length) return false;
        var port = BinaryPrimitives.ReadUInt16BigEndian(value[2..]);
        if (xor) port ^= (ushort)(StunConstants.MagicCookie >> 16);
        Span<byte> bytes = stackalloc byte[length];
        value[4..].CopyTo(bytes);
        if (xor) Mask(bytes, id);
        endPoint = new IPEndPoint(new IPAddress(bytes), port);
        return true;
    }

    private static void Mask(Span<byte> address, StunTransactionId id)
    {
        Span<byte> key = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(key, StunConstants.MagicCookie);
        id.Write(key[4..]);
        for (var i = 0; i < address.Length; i++) address[i] ^= key[i];
    }
}
