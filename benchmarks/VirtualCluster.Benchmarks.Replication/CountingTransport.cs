using VirtualCluster.Replication.Sync;

namespace VirtualCluster.Benchmarks.Replication;

/// <summary>Counts the bytes of both directions of every exchange of an inner transport.</summary>
internal sealed class CountingTransport(ISyncTransport inner, Action<long> count) : ISyncTransport
{
    public async Task<Stream> SendAsync(SyncStep step, Func<Stream, CancellationToken, Task> writeRequest, CancellationToken cancellationToken = default)
    {
        var response = await inner.SendAsync(step, async (stream, ct) =>
        {
            var counted = new Counted(stream, count);
            await writeRequest(counted, ct);
        }, cancellationToken);
        count(response.Length);
        return response;
    }

    private sealed class Counted(Stream inner, Action<long> count) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer) { count(buffer.Length); inner.Write(buffer); }
    }
}
