using System.IO.Pipelines;

namespace VirtualCluster.Routing.Tests.Tunnel;

/// <summary>Two connected in-memory byte streams, like the two ends of a socket.</summary>
internal static class DuplexPipe
{
    /// <param name="pauseAt">Bytes a side may write ahead of the reader before its writes wait (a socket's buffer).</param>
    public static (Stream A, Stream B) Create(int pauseAt = 65536)
    {
        var options = new PipeOptions(pauseWriterThreshold: pauseAt, resumeWriterThreshold: pauseAt / 2);
        var ab = new Pipe(options);
        var ba = new Pipe(options);
        return (new End(ba.Reader, ab.Writer), new End(ab.Reader, ba.Writer));
    }

    private sealed class End(PipeReader reader, PipeWriter writer) : Stream
    {
        private readonly Stream _in = reader.AsStream();
        private readonly Stream _out = writer.AsStream();
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => _in.ReadAsync(buffer, ct);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default) => _out.WriteAsync(buffer, ct);
        public override Task FlushAsync(CancellationToken ct) => _out.FlushAsync(ct);
        public override void Flush() => _out.Flush();
        public override int Read(byte[] buffer, int offset, int count) => _in.Read(buffer, offset, count);
        public override void Write(byte[] buffer, int offset, int count) => _out.Write(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                writer.Complete();
                reader.Complete();
            }
            base.Dispose(disposing);
        }
    }
}
