using System.Buffers.Binary;

namespace VirtualCluster.P2P.Turn;

/// <summary>
/// The ChannelData message (RFC 8656 §12.4): channel number (0x4000-0x4FFF), length, application data, padded to
/// four bytes (padding optional over UDP, §12.5). Parsing never throws.
/// </summary>
public static class ChannelData
{
    /// <summary>Lowest channel number a client may bind (RFC 8656 §12).</summary>
    public const ushort MinChannel = 0x4000;

    /// <summary>Highest channel number a client may bind.</summary>
    public const ushort MaxChannel = 0x4FFF;

    /// <summary>Reads a ChannelData message. False for a wrong channel range or a length beyond the datagram.</summary>
    public static bool TryParse(ReadOnlySpan<byte> datagram, out ushort channel, out ReadOnlySpan<byte> data)
    {
        channel = 0;
        data = default;
        if (datagram.Length < 4) return false;
        var number = BinaryPrimitives.ReadUInt16BigEndian(datagram);
        int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        if (number is < MinChannel or > MaxChannel || length > datagram.Length - 4) return false;
        channel = number;
        data = datagram.Slice(4, length);
        return true;
    }

    /// <summary>Frames <paramref name="data"/> for <paramref name="channel"/>, padded to four bytes.</summary>
    public static byte[] Build(ushort channel, ReadOnlySpan<byte> data)
    {
        if (channel is < MinChannel or > MaxChannel) throw new ArgumentOutOfRangeException(nameof(channel));
        if (data.Length > ushort.MaxValue - 4) throw new ArgumentException("data too long for one ChannelData message", nameof(data));
        var message = new byte[4 + ((data.Length + 3) & ~3)];
        BinaryPrimitives.WriteUInt16BigEndian(message, channel);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), (ushort)data.Length);
        data.CopyTo(message.AsSpan(4));
        return message;
    }
}
