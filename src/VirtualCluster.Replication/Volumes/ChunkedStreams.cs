using VirtualCluster.Replication.Wire;

namespace VirtualCluster.Replication.Volumes;

/// <summary>Frames a body on a connection as chunks "varint length, bytes", ended by a zero length, so the other side knows where it ends.</summary>
internal sealed class ChunkedWriteStream(Stream inner) : Stream
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _used;
    private bool _completed;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var n = Math.Min(data.Length, _buffer.Length - _used);
            data[..n].CopyTo(_buffer.AsSpan(_used));
            _used += n;
            data = data[n..];
            if (_used == _buffer.Length) Emit();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    private void Emit()
    {
        if (_used == 0) return;
        Span<byte> header = stackalloc byte[10];
        inner.Write(header[..Varint(header, (ulong)_used)]);
        inner.Write(_buffer, 0, _used);
        _used = 0;
    }

    private static int Varint(Span<byte> into, ulong value)
    {
        var i = 0;
        while (value >= 0x80) { into[i++] = (byte)(value | 0x80); value >>= 7; }
        into[i++] = (byte)value;
        return i;
    }

    /// <summary>Sends what is buffered and the end marker.</summary>
    public void Complete()
    {
        if (_completed) return;
        _completed = true;
        Emit();
        inner.WriteByte(0);
        inner.Flush();
    }

    public override void Flush() => Emit();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>Reads a body framed by <see cref="ChunkedWriteStream"/>; refuses chunks over 1 MiB and reports a cut connection as truncation.</summary>
internal sealed class ChunkedReadStream(WireReader reader) : Stream
{
    private int _left;
    private bool _ended;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_ended || buffer.IsEmpty) return 0;
        if (_left == 0)
        {
            _left = reader.Int("chunk length", 1024 * 1024);
            if (_left == 0) { _ended = true; return 0; }
        }
        var n = Math.Min(_left, Math.Min(buffer.Length, 64 * 1024));
        reader.Bytes(buffer[..n], "chunk");
        _left -= n;
        return n;
    }

    /// <summary>Reads to the end marker, so the connection is positioned after the body.</summary>
    public void Drain()
    {
        var scratch = new byte[16 * 1024];
        while (Read(scratch) > 0) { }
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
