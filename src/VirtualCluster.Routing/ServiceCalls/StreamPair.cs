using System.IO.Pipelines;

namespace VirtualCluster.Routing.ServiceCalls;

/// <summary>A stream whose sending half can be closed alone (like a TCP FIN): the peer reads the end, and may still answer.</summary>
public interface IHalfClosable
{
    /// <summary>Ends this side's writes; reads go on.</summary>
    void CompleteWrites();
}

/// <summary>
/// Two connected in-memory streams: what one writes the other reads, with back-pressure (a pipe's default pause
/// threshold). Used where an API wants a stream to hand over (a tunnel's accept callback) and the code wants the other end.
/// </summary>
public static class StreamPair
{
    /// <summary>Creates the pair.</summary>
    public static (Stream First, Stream Second) Create()
    {
        var forward = new Pipe();
        var backward = new Pipe();
        return (new PipeEnd(backward.Reader, forward.Writer), new PipeEnd(forward.Reader, backward.Writer));
    }

    private sealed class PipeEnd(PipeReader reader, PipeWriter writer) : Stream, IHalfClosable
    {
        private readonly Stream _in = reader.AsStream(leaveOpen: true);
        private readonly Stream _out = writer.AsStream(leaveOpen: true);
        private int _disposed;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(_disposed == 1, this);
            // A completed pipe throws InvalidOperationException; callers of a stream expect an IOException.
            try { return await _in.ReadAsync(buffer, cancellationToken).ConfigureAwait(false); }
            catch (InvalidOperationException e) { throw new IOException("the stream pair is closed", e); }
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(_disposed == 1, this);
            try
            {
                var result = await writer.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (result.IsCompleted) throw new IOException("the other end of the stream pair is closed");
            }
            catch (InvalidOperationException e) { throw new IOException("the stream pair is closed", e); }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

        public override void Flush() { }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public void CompleteWrites() => writer.Complete();

        protected override void Dispose(bool disposing)
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
            writer.Complete();
            reader.CancelPendingRead();
            reader.Complete();
            base.Dispose(disposing);
        }
    }
}
