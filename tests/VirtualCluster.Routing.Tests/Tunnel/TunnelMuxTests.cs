using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.Routing.Tunnel;

namespace VirtualCluster.Routing.Tests.Tunnel;

public sealed class TunnelMuxTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private readonly TunnelOptions _options = new() { StreamWindow = 4096, MaxDataFrame = 1024, MaxStreams = 8 };
    private readonly List<Task> _echoes = [];
    private TunnelMux _gateway = null!;
    private TunnelMux _agent = null!;
    private Task _runs = Task.CompletedTask;

    public Task InitializeAsync()
    {
        var (a, b) = DuplexPipe.Create();
        _agent = new TunnelMux(a, isDialer: true, _options, ConnectEcho, NullLogger.Instance);
        _gateway = new TunnelMux(b, isDialer: false, _options, connect: null, NullLogger.Instance);
        _runs = Task.WhenAll(_agent.RunAsync(), _gateway.RunAsync());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync().AsTask().WaitAsync(Deadline);
        await _agent.DisposeAsync().AsTask().WaitAsync(Deadline);
        await _runs.WaitAsync(Deadline);
    }

    /// <summary>Port 7 echoes; port 9 accepts and never reads; anything else is refused like a non-instance port.</summary>
    private ValueTask<Stream> ConnectEcho(int port, CancellationToken ct)
    {
        if (port is not (7 or 9)) throw new TunnelRefusedException($"port {port} is not a port of an instance running on this node");
        var (mine, theirs) = DuplexPipe.Create(pauseAt: 1024);
        if (port == 7) _echoes.Add(Task.Run(async () => { await mine.CopyToAsync(mine); mine.Dispose(); }));
        return ValueTask.FromResult(theirs);
    }

    [Fact]
    public async Task Bytes_round_trip_intact_through_a_window_much_smaller_than_the_data()
    {
        await using var stream = await _gateway.OpenAsync(7);
        var data = new byte[1024 * 1024 + 17];
        Random.Shared.NextBytes(data);
        // The in-memory echo cannot see a half close, so read exactly what was sent.
        var writer = Task.Run(async () => await stream.WriteAsync(data));
        var received = new byte[data.Length];
        await stream.ReadExactlyAsync(received).AsTask().WaitAsync(Deadline);
        await writer.WaitAsync(Deadline);
        Assert.Equal(data, received);
    }

    [Fact]
    public async Task Many_streams_interleave()
    {
        var tasks = Enumerable.Range(0, 8).Select(async i =>
        {
            await using var stream = await _gateway.OpenAsync(7);
            var data = Enumerable.Range(0, 20_000).Select(x => (byte)(x * i)).ToArray();
            var writer = Task.Run(async () => await stream.WriteAsync(data));
            var received = new byte[data.Length];
            await stream.ReadExactlyAsync(received);
            await writer;
            Assert.Equal(data, received);
        });
        await Task.WhenAll(tasks).WaitAsync(Deadline);
    }

    [Fact]
    public async Task A_port_that_is_not_an_instance_port_is_refused_with_the_reason()
    {
        var e = await Assert.ThrowsAsync<TunnelRefusedException>(() => _gateway.OpenAsync(22));
        Assert.Contains("port 22 is not a port of an instance", e.Message);
        // The tunnel keeps working for everyone else.
        await using var ok = await _gateway.OpenAsync(7);
        await ok.WriteAsync("hi"u8.ToArray());
        var buffer = new byte[2];
        await ok.ReadExactlyAsync(buffer).AsTask().WaitAsync(Deadline);
        Assert.Equal("hi"u8.ToArray(), buffer);
    }

    [Fact]
    public async Task A_reader_that_does_not_read_stops_the_writer_at_the_window()
    {
        await using var stream = await _gateway.OpenAsync(9);
        var written = 0;
        var writer = Task.Run(async () =>
        {
            var chunk = new byte[512];
            while (true)
            {
                await stream.WriteAsync(chunk);
                Interlocked.Add(ref written, chunk.Length);
            }
        });
        // Positive control: the writer does get at least a window out.
        var deadline = DateTime.UtcNow + Deadline;
        while (Volatile.Read(ref written) < _options.StreamWindow && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.True(Volatile.Read(ref written) >= _options.StreamWindow);
        // Then it stalls: at most the agent's window, what the agent's bridge holds while its local write is blocked
        // (one more window) and the local connection's own buffer (1 KiB here) are in flight. Wait until it stops.
        int before, after = Volatile.Read(ref written);
        do
        {
            before = after;
            await Task.Delay(300);
            after = Volatile.Read(ref written);
        }
        while (after != before && DateTime.UtcNow < deadline);
        Assert.Equal(before, after);
        Assert.True(after <= 2 * _options.StreamWindow + 1024 + 512, $"{after} bytes left the writer");
        Assert.False(writer.IsCompleted);
    }

    [Fact]
    public async Task Opens_beyond_the_stream_limit_are_refused_and_others_keep_working()
    {
        var open = new List<TunnelStream>();
        for (var i = 0; i < _options.MaxStreams; i++) open.Add(await _gateway.OpenAsync(9));
        await Assert.ThrowsAsync<TunnelRefusedException>(() => _gateway.OpenAsync(9));
        foreach (var s in open) await s.DisposeAsync();
        var deadline = DateTime.UtcNow + Deadline;
        while ((_gateway.StreamCount > 0 || _agent.StreamCount > 0) && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.Equal(0, _agent.StreamCount);
        await using var again = await _gateway.OpenAsync(7);
        Assert.NotNull(again);
    }

    [Fact]
    public async Task Closing_the_tunnel_fails_open_streams_instead_of_hanging()
    {
        var stream = await _gateway.OpenAsync(9);
        var read = stream.ReadAsync(new byte[10]).AsTask();
        await _agent.DisposeAsync();
        await Assert.ThrowsAsync<IOException>(() => read.WaitAsync(Deadline));
        await _gateway.Completion.WaitAsync(Deadline);
        await Assert.ThrowsAsync<IOException>(() => _gateway.OpenAsync(7));
    }
}
