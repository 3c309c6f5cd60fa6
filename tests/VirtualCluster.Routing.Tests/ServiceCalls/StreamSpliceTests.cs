using System.Text;
using VirtualCluster.Routing.ServiceCalls;

namespace VirtualCluster.Routing.Tests.ServiceCalls;

/// <summary>Splicing a caller that half-closes (an HTTP/1.0 client, <c>printf | nc</c>) to a stream that cannot pass the end on (a data channel).</summary>
public sealed class StreamSpliceTests
{
    [Fact]
    public async Task A_caller_that_half_closes_gets_the_answer_over_a_stream_without_half_close()
    {
        var answer = await CallAsync(StreamSplice.HalfCloseGrace);
        Assert.Equal("answer to request", answer);
    }

    [Fact]
    public async Task Without_the_grace_the_answer_is_lost_which_is_what_the_grace_is_for()
    {
        // Positive control: the same exchange, with no time for the other direction, closes both before the answer.
        var answer = await CallAsync(TimeSpan.Zero);
        Assert.Equal("", answer);
    }

    [Fact]
    public async Task A_server_that_never_answers_is_closed_after_the_grace()
    {
        var (caller, spliceA) = StreamPair.Create();
        var (spliceB, server) = StreamPair.Create();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var splice = StreamSplice.RunAsync(spliceA, new NoHalfClose(spliceB), TimeSpan.FromMilliseconds(300), timeout.Token);
        await caller.WriteAsync(Encoding.ASCII.GetBytes("request"), timeout.Token);
        ((IHalfClosable)caller).CompleteWrites();

        await splice.WaitAsync(timeout.Token);
        Assert.Equal("", await ReadToEndAsync(caller, timeout.Token)); // closed, nothing came back
        await server.DisposeAsync();
    }

    /// <summary>
    /// The caller writes a request and half-closes; the server answers once the splice has read the caller's end (so
    /// the answer always comes after it, however loaded the machine), then closes. Returns what the caller read.
    /// </summary>
    private static async Task<string> CallAsync(TimeSpan grace)
    {
        var (caller, spliceEnd) = StreamPair.Create();
        var spliceA = new EndSignal(spliceEnd);
        var (spliceB, server) = StreamPair.Create();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var splice = StreamSplice.RunAsync(spliceA, new NoHalfClose(spliceB), grace, timeout.Token);

        await caller.WriteAsync(Encoding.ASCII.GetBytes("request"), timeout.Token);
        ((IHalfClosable)caller).CompleteWrites();
        var request = new byte[7];
        await server.ReadExactlyAsync(request, timeout.Token);
        var answering = Task.Run(async () =>
        {
            await spliceA.Ended.Task.WaitAsync(timeout.Token);
            await Task.Delay(TimeSpan.FromMilliseconds(50), timeout.Token); // and the splice has acted on it (or not)
            try
            {
                await server.WriteAsync(Encoding.ASCII.GetBytes("answer to " + Encoding.ASCII.GetString(request)), timeout.Token);
                await server.FlushAsync(timeout.Token);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
            {
                // The splice closed this end already (the control case).
            }
            await server.DisposeAsync();
        }, timeout.Token);

        var read = await ReadToEndAsync(caller, timeout.Token);
        await answering;
        await splice.WaitAsync(timeout.Token);
        return read;
    }

    private static async Task<string> ReadToEndAsync(Stream stream, CancellationToken ct)
    {
        var text = new StringBuilder();
        var buffer = new byte[256];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, ct)) > 0) text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
        return text.ToString();
    }

    /// <summary>A half-closable stream that tells when a read returned its end.</summary>
    private sealed class EndSignal(Stream inner) : NoHalfClose(inner), IHalfClosable
    {
        public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await base.ReadAsync(buffer, cancellationToken);
            if (n == 0) Ended.TrySetResult();
            return n;
        }

        public void CompleteWrites() => ((IHalfClosable)Inner).CompleteWrites();
    }

    /// <summary>A stream that cannot end its writes alone, as a data channel's stream.</summary>
    private class NoHalfClose(Stream inner) : Stream
    {
        protected Stream Inner => inner;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override ValueTask DisposeAsync() => inner.DisposeAsync();
        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
