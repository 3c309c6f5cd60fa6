using System.Buffers.Binary;

namespace VirtualCluster.Routing.Tunnel;

/// <summary>Kinds of frame on a tunnel. Values are on the wire: never renumber.</summary>
public enum TunnelFrameType : byte
{
    /// <summary>Open a stream to a loopback port of the peer. Payload: port (u16), the opener's receive window (u32).</summary>
    Open = 1,
    /// <summary>The stream is connected. Payload: the acceptor's receive window (u32).</summary>
    OpenAck = 2,
    /// <summary>Stream bytes; never more than the credit the receiver granted.</summary>
    Data = 3,
    /// <summary>More credit for the stream's sender. Payload: increment in bytes (u32, 1..2^31-1).</summary>
    Window = 4,
    /// <summary>The sender will send no more data on the stream (a half close, like TCP FIN).</summary>
    Close = 5,
    /// <summary>The stream is aborted in both directions. Payload: a UTF-8 reason (may be empty).</summary>
    Reset = 6,
    /// <summary>Keepalive on stream 0. Payload: 8 opaque bytes, echoed in a <see cref="Pong"/>.</summary>
    Ping = 7,
    /// <summary>Answer to a <see cref="Ping"/>, echoing its payload.</summary>
    Pong = 8,
}

/// <summary>
/// The tunnel's frame header: type (1 byte), stream id (4 bytes, big-endian), payload length (4 bytes, big-endian),
/// then the payload. Stream 0 is the tunnel itself (ping and pong); ids a side opens have its parity (the dialing
/// side even, the accepting side odd) so the two never pick the same id.
/// </summary>
public readonly record struct TunnelFrameHeader(TunnelFrameType Type, uint StreamId, int Length)
{
    /// <summary>Bytes in a header.</summary>
    public const int Size = 9;

    /// <summary>Largest payload of any frame (64 KiB); a longer length is a protocol error that ends the tunnel.</summary>
    public const int MaxPayload = 64 * 1024;

    /// <summary>Largest reason in a <see cref="TunnelFrameType.Reset"/> frame; longer reasons are cut.</summary>
    public const int MaxReasonBytes = 512;

    /// <summary>Writes the header into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        destination[0] = (byte)Type;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], StreamId);
        BinaryPrimitives.WriteInt32BigEndian(destination[5..], Length);
    }

    /// <summary>Reads and checks a header; the error says what is wrong with it.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out TunnelFrameHeader header, out string? error)
    {
        header = default;
        var type = source[0];
        var id = BinaryPrimitives.ReadUInt32BigEndian(source[1..]);
        var length = BinaryPrimitives.ReadInt32BigEndian(source[5..]);
        if (type is < (byte)TunnelFrameType.Open or > (byte)TunnelFrameType.Pong)
            error = $"unknown frame type {type}";
        else if (length is < 0 or > MaxPayload)
            error = $"frame length {length} is outside 0..{MaxPayload}";
        else if (ExpectedLength((TunnelFrameType)type) is { } expected && length != expected)
            error = $"a {(TunnelFrameType)type} frame has {expected} payload bytes, not {length}";
        else if (type is (byte)TunnelFrameType.Ping or (byte)TunnelFrameType.Pong ? id != 0 : id == 0)
            error = $"a {(TunnelFrameType)type} frame cannot be on stream {id}";
        else if (type == (byte)TunnelFrameType.Reset && length > MaxReasonBytes)
            error = $"a reset reason of {length} bytes is longer than {MaxReasonBytes}";
        else
        {
            header = new TunnelFrameHeader((TunnelFrameType)type, id, length);
            error = null;
            return true;
        }
        return false;
    }

    private static int? ExpectedLength(TunnelFrameType type) => type switch
    {
        TunnelFrameType.Open => 6,
        TunnelFrameType.OpenAck or TunnelFrameType.Window => 4,
        TunnelFrameType.Close => 0,
        TunnelFrameType.Ping or TunnelFrameType.Pong => 8,
        _ => null,
    };
}
