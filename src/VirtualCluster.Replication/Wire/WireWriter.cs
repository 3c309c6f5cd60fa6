using System.Buffers;
using System.Text;

namespace VirtualCluster.Replication.Wire;

/// <summary>Varints (LEB128), length-prefixed strings and raw bytes onto a stream, buffered.</summary>
internal sealed class WireWriter(Stream stream) : IAsyncDisposable
{
    private readonly byte[] _buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
    private int _used;

    public Stream Stream => stream;

    public void Byte(byte value)
    {
        if (_used == _buffer.Length) FlushBuffer();
        _buffer[_used++] = value;
    }

    public void Varint(ulong value)
    {
        if (_buffer.Length - _used < 10) FlushBuffer();
        while (value >= 0x80)
        {
            _buffer[_used++] = (byte)(value | 0x80);
            value >>= 7;
        }
        _buffer[_used++] = (byte)value;
    }

    public void Varint(long value) => Varint(checked((ulong)value));

    public void String(string value)
    {
        var count = Encoding.UTF8.GetByteCount(value);
        Varint((ulong)count);
        if (_buffer.Length - _used < count) FlushBuffer();
        if (count <= _buffer.Length) _used += Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_used));
        else Bytes(Encoding.UTF8.GetBytes(value));
    }

    public void Bytes(ReadOnlySpan<byte> data)
    {
        if (data.Length > _buffer.Length - _used)
        {
            FlushBuffer();
            if (data.Length > _buffer.Length) { stream.Write(data); return; }
        }
        data.CopyTo(_buffer.AsSpan(_used));
        _used += data.Length;
    }

    /// <summary>Synchronous writes keep the hot loops free of per-op tasks; the stream below is buffered or in memory.</summary>
    public void FlushBuffer()
    {
        if (_used == 0) return;
        stream.Write(_buffer, 0, _used);
        _used = 0;
    }

    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_used > 0) await stream.WriteAsync(_buffer.AsMemory(0, _used), cancellationToken).ConfigureAwait(false);
        _used = 0;
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        return ValueTask.CompletedTask;
    }
}
