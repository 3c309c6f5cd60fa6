namespace VirtualCluster.Replication.Tests;

/// <summary>
/// A read-only stream of <paramref name="length"/> pseudo-random bytes (xorshift per 8-byte word, so any position is
/// computable), with an optional region overwritten: a file of gigabytes without a disk or an array.
/// </summary>
internal sealed class GeneratedStream(long length, ulong seed, long editAt = -1, int editLength = 0) : Stream
{
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => _position; set => _position = value; }

    private static byte At(long position, ulong seed)
    {
        var x = (ulong)(position >> 3) * 0x9E3779B97F4A7C15UL ^ seed;
        x ^= x >> 31; x *= 0xBF58476D1CE4E5B9UL; x ^= x >> 27;
        return (byte)(x >> (8 * (int)(position & 7)));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Max(0, Math.Min(buffer.Length, length - _position));
        var i = 0;
        for (; i < n && ((_position + i) & 7) != 0; i++) buffer[i] = At(_position + i, seed);
        for (; i + 8 <= n; i += 8)
        {
            var x = (ulong)((_position + i) >> 3) * 0x9E3779B97F4A7C15UL ^ seed;
            x ^= x >> 31; x *= 0xBF58476D1CE4E5B9UL; x ^= x >> 27;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(buffer[i..], x);
        }
        for (; i < n; i++) buffer[i] = At(_position + i, seed);
        if (editAt >= 0)
        {
            for (var p = Math.Max(editAt, _position); p < Math.Min(editAt + editLength, _position + n); p++) buffer[(int)(p - _position)] = (byte)(p * 31);
        }
        _position += n;
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin) => _position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => length + offset,
    };

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
