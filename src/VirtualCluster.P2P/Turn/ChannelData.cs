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
        var message = new byte[FramedLength(data.Length)];
        Write(channel, data, message);
        return message;
    }

    /// <summary>The length of a framed message carrying <paramref name="dataLength"/> bytes (header and padding).</summary>
    public static int FramedLength(int dataLength) => 4 + ((dataLength + 3) & ~3);

    /// <summary>Frames <paramref name="data"/> into <paramref name="destination"/> (at least <see cref="FramedLength"/> bytes); returns the length written.</summary>
    public static int Write(ushort channel, ReadOnlySpan<byte> data, Span<byte> destination)
    {
        if (channel is < MinChannel or > MaxChannel) throw new ArgumentOutOfRangeException(nameof(channel));
        if (data.Length > ushort.MaxValue - 4) throw new ArgumentException("data too long for one ChannelData message", nameof(data));
        var length = FramedLength(data.Length);
        if (destination.Length < length) throw new ArgumentException($"destination holds {destination.Length} bytes; the message needs {length}", nameof(destination));
        BinaryPrimitives.WriteUInt16BigEndian(destination, channel);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)data.Length);
        data.CopyTo(destination[4..]);
        destination[(4 + data.Length)..length].Clear();
        return length;
    }
}
