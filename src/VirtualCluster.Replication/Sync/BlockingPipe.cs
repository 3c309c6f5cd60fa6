namespace VirtualCluster.Replication.Sync;

/// <summary>
/// A bounded in-memory pipe between one writing and one reading thread, both blocking: a synchronous producer and
/// consumer need nothing from the thread pool to wake each other (sync-over-async on a pipe would, and a loaded
/// machine may not have a free pool thread for a while). Either side can end it with an error the other then sees.
/// </summary>
internal sealed class BlockingPipe(int capacity)
{
    private readonly byte[] _ring = new byte[capacity];
    private readonly object _lock = new();
    private int _head;
    private int _count;
    private bool _writerDone;
    private Exception? _writerError;
    private Exception? _readerError;

    public Stream Writer => new WriteSide(this);

    public Stream Reader => new ReadSide(this);

    private void Write(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            lock (_lock)
            {
                while (_count == _ring.Length && _readerError is null) Monitor.Wait(_lock);
                if (_readerError is not null) throw new IOException("the receiving side stopped reading", _readerError);
                var tail = (_head + _count) % _ring.Length;
                var n = Math.Min(data.Length, Math.Min(_ring.Length - _count, _ring.Length - tail));
                data[..n].CopyTo(_ring.AsSpan(tail));
                _count += n;
                data = data[n..];
                Monitor.PulseAll(_lock);
            }
        }
    }

    private int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty) return 0;
        lock (_lock)
        {
            while (_count == 0 && !_writerDone) Monitor.Wait(_lock);
            if (_count == 0)
            {
                if (_writerError is not null) throw new IOException("the sending side failed", _writerError);
                return 0;
            }
            var n = Math.Min(buffer.Length, Math.Min(_count, _ring.Length - _head));
            _ring.AsSpan(_head, n).CopyTo(buffer);
            _head = (_head + n) % _ring.Length;
            _count -= n;
            Monitor.PulseAll(_lock);
            return n;
        }
    }

    /// <summary>The writer is done (with an error, the reader fails once it has read what came before).</summary>
    public void CompleteWriter(Exception? error = null)
    {
        lock (_lock) { _writerDone = true; _writerError = error; Monitor.PulseAll(_lock); }
    }

    /// <summary>The reader gives up: the writer's next write fails.</summary>
    public void CompleteReader(Exception error)
    {
        lock (_lock) { _readerError = error; Monitor.PulseAll(_lock); }
    }

    private sealed class WriteSide(BlockingPipe pipe) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override void Write(byte[] buffer, int offset, int count) => pipe.Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer) => pipe.Write(buffer);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private sealed class ReadSide(BlockingPipe pipe) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => pipe.Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer) => pipe.Read(buffer);
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
