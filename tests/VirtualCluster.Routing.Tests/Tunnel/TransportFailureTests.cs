using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.Routing.Tunnel;

namespace VirtualCluster.Routing.Tests.Tunnel;

/// <summary>
/// A transport that throws something other than an I/O error once it is disposed under a pending read and write
/// (as a pipe-backed stream does: InvalidOperationException) must not keep the tunnel from completing.
/// </summary>
public sealed class TransportFailureTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Dispose_returns_when_the_disposed_transport_throws_from_its_pending_read_and_write()
    {
        var transport = new ThrowsWhenDisposed();
        var mux = new TunnelMux(transport, isDialer: false, new TunnelOptions(), connect: null, NullLogger.Instance);
        var run = mux.RunAsync();
        var open = mux.OpenAsync(7);
        // Positive control: the write loop really is inside the transport's write when the tunnel is disposed.
        await transport.WriteStarted.WaitAsync(Deadline);
        await mux.DisposeAsync().AsTask().WaitAsync(Deadline);
        await mux.Completion.WaitAsync(Deadline);
        Assert.True(transport.ThrewAfterDispose > 0, "the transport was expected to throw from its pending operations");
        await Assert.ThrowsAnyAsync<Exception>(() => open.WaitAsync(Deadline));
        // RunAsync ends without throwing, whatever the transport threw while closing.
        await run.WaitAsync(Deadline);
    }

    /// <summary>Reads and writes block (ignoring cancellation) until disposed, then throw InvalidOperationException.</summary>
    private sealed class ThrowsWhenDisposed : Stream
    {
        private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _writeStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _threw;
        public Task WriteStarted => _writeStarted.Task;
        public int ThrewAfterDispose => Volatile.Read(ref _threw);
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            await _disposed.Task;
            Interlocked.Increment(ref _threw);
            throw new InvalidOperationException("Reading is not allowed after the reader was completed.");
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
        {
            _writeStarted.TrySetResult();
            await _disposed.Task;
            Interlocked.Increment(ref _threw);
            throw new InvalidOperationException("Writing is not allowed after the writer was completed.");
        }

        protected override void Dispose(bool disposing)
        {
            _disposed.TrySetResult();
            base.Dispose(disposing);
        }

        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
