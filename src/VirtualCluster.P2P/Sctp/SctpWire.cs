using System.Buffers.Binary;

namespace VirtualCluster.P2P.Sctp;

/// <summary>Chunk types used by WebRTC data channels (RFC 9260 §3.2, RFC 3758, RFC 6525).</summary>
internal static class ChunkType
{
    public const byte Data = 0, Init = 1, InitAck = 2, Sack = 3, Heartbeat = 4, HeartbeatAck = 5, Abort = 6,
        Shutdown = 7, ShutdownAck = 8, Error = 9, CookieEcho = 10, CookieAck = 11, ShutdownComplete = 14,
        ReConfig = 130, Pad = 0x84, ForwardTsn = 192;
}

/// <summary>Parameter types in INIT/INIT-ACK and RE-CONFIG.</summary>
internal static class ParamType
{
    public const ushort HeartbeatInfo = 1, StateCookie = 7, UnrecognizedParameter = 8, OutgoingResetRequest = 13,
        IncomingResetRequest = 14, ReconfigResponse = 16, SupportedExtensions = 0x8008, ForwardTsnSupported = 0xC000;
}

/// <summary>DATA chunk flags (RFC 9260 §3.3.1).</summary>
internal static class DataFlags
{
    public const byte End = 1, Begin = 2, Unordered = 4, Immediate = 8;
}

/// <summary>Serial number arithmetic on 32-bit TSNs and 16-bit SSNs (RFC 1982).</summary>
internal static class Serial
{
    public static bool Lt(uint a, uint b) => a != b && (int)(a - b) < 0;
    public static bool Le(uint a, uint b) => a == b || (int)(a - b) < 0;
    public static bool Gt(uint a, uint b) => Lt(b, a);
    public static bool Ge(uint a, uint b) => Le(b, a);
    public static bool Lt16(ushort a, ushort b) => a != b && (short)(a - b) < 0;
    public static bool Le16(ushort a, ushort b) => a == b || (short)(a - b) < 0;
}

/// <summary>One chunk as found in a received packet; <see cref="Value"/> excludes the 4-byte chunk header.</summary>
internal readonly ref struct Chunk(byte type, byte flags, ReadOnlySpan<byte> value)
{
    public byte Type { get; } = type;
    public byte Flags { get; } = flags;
    public ReadOnlySpan<byte> Value { get; } = value;
}

/// <summary>Walks the chunks of a received packet, checking each length against what is left.</summary>
internal ref struct ChunkReader(ReadOnlySpan<byte> chunks)
{
    private ReadOnlySpan<byte> _rest = chunks;

    /// <summary>True if the packet had a chunk whose length field was wrong (the rest is ignored).</summary>
    public bool Malformed { get; private set; }

    public bool Next(out Chunk chunk)
    {
        chunk = default;
        if (_rest.Length < 4) { Malformed |= _rest.Length != 0; return false; }
        var length = BinaryPrimitives.ReadUInt16BigEndian(_rest[2..]);
        if (length < 4 || length > _rest.Length) { Malformed = true; return false; }
        chunk = new Chunk(_rest[0], _rest[1], _rest[4..length]);
        var padded = (length + 3) & ~3;
        _rest = padded >= _rest.Length ? default : _rest[padded..];
        return true;
    }
}

/// <summary>Walks TLV parameters (type, length, value; padded to 4).</summary>
internal ref struct ParamReader(ReadOnlySpan<byte> parameters)
{
    private ReadOnlySpan<byte> _rest = parameters;

    public bool Next(out ushort type, out ReadOnlySpan<byte> value)
    {
        type = 0;
        value = default;
        if (_rest.Length < 4) return false;
        type = BinaryPrimitives.ReadUInt16BigEndian(_rest);
        var length = BinaryPrimitives.ReadUInt16BigEndian(_rest[2..]);
        if (length < 4 || length > _rest.Length) return false;
        value = _rest[4..length];
        var padded = (length + 3) & ~3;
        _rest = padded >= _rest.Length ? default : _rest[padded..];
        return true;
    }
}

/// <summary>
/// Builds one SCTP packet (common header, then chunks) in a caller-owned buffer; <see cref="Finish"/> writes the
/// CRC32c. Chunks are appended with <see cref="BeginChunk"/> / <see cref="EndChunk"/>.
/// </summary>
internal struct PacketWriter
{
    public const int CommonHeaderSize = 12;
    private readonly byte[] _buffer;
    private readonly int _limit;
    private int _chunkStart;

    public PacketWriter(byte[] buffer, int limit, ushort sourcePort, ushort destinationPort, uint verificationTag)
    {
        _buffer = buffer;
        _limit = limit;
        BinaryPrimitives.WriteUInt16BigEndian(buffer, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(4), verificationTag);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(8), 0);
        Length = CommonHeaderSize;
    }

    public int Length { get; private set; }
    public readonly int Remaining => _limit - Length;
    public readonly bool HasChunks => Length > CommonHeaderSize;
    public readonly Span<byte> Buffer => _buffer;

    /// <summary>Starts a chunk; returns the span for its value (the caller writes then calls EndChunk with its length).</summary>
    public Span<byte> BeginChunk(byte type, byte flags)
    {
        _chunkStart = Length;
        _buffer[Length] = type;
        _buffer[Length + 1] = flags;
        return _buffer.AsSpan(Length + 4, _limit - Length - 4);
    }

    public void EndChunk(int valueLength)
    {
        var length = 4 + valueLength;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(_chunkStart + 2), (ushort)length);
        var padded = (length + 3) & ~3;
        _buffer.AsSpan(_chunkStart + length, padded - length).Clear();
        Length = _chunkStart + padded;
    }

    /// <summary>Writes the checksum; returns the packet.</summary>
    public readonly ReadOnlySpan<byte> Finish()
    {
        var packet = _buffer.AsSpan(0, Length);
        BinaryPrimitives.WriteUInt32LittleEndian(packet[8..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(packet[8..], Crc32c.Compute(packet));
        return packet;
    }

    public static void WriteParam(Span<byte> into, ref int offset, ushort type, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(into[offset..], type);
        BinaryPrimitives.WriteUInt16BigEndian(into[(offset + 2)..], (ushort)(4 + value.Length));
        value.CopyTo(into[(offset + 4)..]);
        var padded = (4 + value.Length + 3) & ~3;
        into.Slice(offset + 4 + value.Length, padded - 4 - value.Length).Clear();
        offset += padded;
    }
}
