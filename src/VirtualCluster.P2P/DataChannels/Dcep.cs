using System.Buffers.Binary;
using System.Text;

namespace VirtualCluster.P2P.DataChannels;

/// <summary>Data Channel Establishment Protocol messages (RFC 8832) and the PPIDs of RFC 8831 §8.</summary>
internal static class Dcep
{
    public const uint PpidDcep = 50, PpidString = 51, PpidBinaryPartial = 52, PpidBinary = 53, PpidStringPartial = 54,
        PpidStringEmpty = 56, PpidBinaryEmpty = 57;
    public const byte MessageAck = 0x02, MessageOpen = 0x03;
    public const byte ChannelReliable = 0x00, ChannelRexmit = 0x01, ChannelTimed = 0x02, UnorderedBit = 0x80;

    /// <summary>Encodes DATA_CHANNEL_OPEN (RFC 8832 §5.1).</summary>
    public static byte[] EncodeOpen(DataChannel c)
    {
        var label = Encoding.UTF8.GetBytes(c.Label);
        var protocol = Encoding.UTF8.GetBytes(c.Protocol);
        var m = new byte[12 + label.Length + protocol.Length];
        m[0] = MessageOpen;
        byte type = c.MaxRetransmits is not null ? ChannelRexmit : c.MaxPacketLifeTime is not null ? ChannelTimed : ChannelReliable;
        if (!c.Ordered) type |= UnorderedBit;
        m[1] = type;
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(2), c.Priority);
        var reliability = c.MaxRetransmits is { } r ? (uint)r : c.MaxPacketLifeTime is { } l ? (uint)l.TotalMilliseconds : 0u;
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(4), reliability);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(8), (ushort)label.Length);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(10), (ushort)protocol.Length);
        label.CopyTo(m, 12);
        protocol.CopyTo(m, 12 + label.Length);
        return m;
    }

    /// <summary>Parses DATA_CHANNEL_OPEN; false (and an error text) when it is malformed.</summary>
    public static bool TryParseOpen(ReadOnlySpan<byte> m, out DataChannelInit init, out string label, out string error)
    {
        init = new DataChannelInit();
        label = "";
        error = "";
        if (m.Length < 12 || m[0] != MessageOpen) { error = "DATA_CHANNEL_OPEN shorter than 12 bytes"; return false; }
        var type = m[1];
        var reliability = BinaryPrimitives.ReadUInt32BigEndian(m[4..]);
        int labelLength = BinaryPrimitives.ReadUInt16BigEndian(m[8..]);
        int protocolLength = BinaryPrimitives.ReadUInt16BigEndian(m[10..]);
        if (m.Length < 12 + labelLength + protocolLength) { error = "label and protocol lengths exceed the message"; return false; }
        init.Ordered = (type & UnorderedBit) == 0;
        init.Priority = BinaryPrimitives.ReadUInt16BigEndian(m[2..]);
        switch (type & 0x7F)
        {
            case ChannelReliable: break;
            case ChannelRexmit: init.MaxRetransmits = (int)Math.Min(reliability, ushort.MaxValue); break;
            case ChannelTimed: init.MaxPacketLifeTime = TimeSpan.FromMilliseconds(Math.Min(reliability, ushort.MaxValue)); break;
            default: error = $"unknown channel type 0x{type:x2}"; return false;
        }
        try
        {
            label = new UTF8Encoding(false, true).GetString(m.Slice(12, labelLength));
            init.Protocol = new UTF8Encoding(false, true).GetString(m.Slice(12 + labelLength, protocolLength));
        }
        catch (DecoderFallbackException)
        {
            error = "label or protocol is not valid UTF-8";
            return false;
        }
        return true;
    }
}
