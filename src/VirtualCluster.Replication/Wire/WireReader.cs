using System.Text;

namespace VirtualCluster.Replication.Wire;

/// <summary>
/// Reads what <see cref="WireWriter"/> wrote, refusing anything out of bounds: every failure is a
/// <see cref="ReplicationException"/> naming what was being read.
/// </summary>
internal sealed class WireReader(Stream stream, string what)
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _position;
    private int _end;

    /// <summary>Bytes consumed so far.</summary>
    public long Consumed { get; private set; }

    private bool Fill()
    {
        if (_position < _end) return true;
        int read;
        try { read = stream.Read(_buffer, 0, _buffer.Length); }
        catch (InvalidDataException e) { throw new ReplicationException($"the {what} is corrupt: its compressed data does not decode ({e.Message}); send it again", e); }
        _position = 0;
        _end = read;
        return read > 0;
    }

    public byte Byte(string field)
    {
        if (!Fill()) throw Truncated(field);
        Consumed++;
        return _buffer[_position++];
    }

    public ulong Varint(string field, ulong max)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = Byte(field);
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                if (value > max) throw Corrupt($"{field} is {value}, more than the limit {max}");
                return value;
            }
        }
        throw Corrupt($"{field} is not a valid varint");
    }

    public long Long(string field, long max) => (long)Varint(field, (ulong)max);

    public int Int(string field, int max) => (int)Varint(field, (ulong)max);

    public string String(string field, int maxBytes)
    {
        var count = Int(field + " length", maxBytes);
        var bytes = new byte[count];
        Bytes(bytes, field);
        try { return new UTF8Encoding(false, true).GetString(bytes); }
        catch (DecoderFallbackException) { throw Corrupt($"{field} is not valid UTF-8"); }
    }

    public void Bytes(Span<byte> destination, string field)
    {
        while (destination.Length > 0)
        {
            if (!Fill()) throw Truncated(field);
            var n = Math.Min(destination.Length, _end - _position);
            _buffer.AsSpan(_position, n).CopyTo(destination);
            _position += n;
            Consumed += n;
            destination = destination[n..];
        }
    }

    public ReplicationException Truncated(string field) =>
        new($"the {what} is truncated: it ended while reading {field}; the sender stopped or the connection broke, sync again");

    public ReplicationException Corrupt(string detail) =>
        new($"the {what} is corrupt: {detail}; it was damaged or comes from an incompatible sender, sync again");
}
