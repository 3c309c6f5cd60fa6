using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.Routing.Tunnel;

namespace VirtualCluster.Routing.Tests.Tunnel;

/// <summary>A raw peer sends broken frames to a real agent-side tunnel: it resets streams or closes, never throws.</summary>
public sealed class HostileFrameTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private readonly TunnelOptions _options = new() { StreamWindow = 4096, MaxDataFrame = 1024 };
    private Stream _raw = null!;
    private TunnelMux _agent = null!;
    private Task _run = Task.CompletedTask;

    public Task InitializeAsync()
    {
        var (a, b) = DuplexPipe.Create();
        _raw = b;
        _agent = new TunnelMux(a, isDialer: true, _options, async (port, ct) =>
        {
            // Port 9 connects only when the tunnel closes: nothing reads its stream, so no credit is ever returned.
            if (port == 9) await Task.Delay(Timeout.Infinite, ct);
            var (mine, theirs) = DuplexPipe.Create();
            _ = Task.Run(async () => { await mine.CopyToAsync(mine); mine.Dispose(); });
            return theirs;
        }, NullLogger.Instance);
        _run = _agent.RunAsync();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        await _run.WaitAsync(Deadline); // RunAsync never throws, whatever came in
        _raw.Dispose();
    }

    private async Task Send(TunnelFrameType type, uint id, byte[] payload, int? length = null)
    {
        var frame = new byte[TunnelFrameHeader.Size + payload.Length];
        frame[0] = (byte)type;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), id);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), length ?? payload.Length);
        payload.CopyTo(frame, TunnelFrameHeader.Size);
        await _raw.WriteAsync(frame);
        await _raw.FlushAsync();
    }

    private async Task<(TunnelFrameType Type, uint Id, byte[] Payload)> Receive()
    {
        var header = new byte[TunnelFrameHeader.Size];
        await _raw.ReadExactlyAsync(header).AsTask().WaitAsync(Deadline);
        Assert.True(TunnelFrameHeader.TryRead(header, out var h, out var error), error);
        var payload = new byte[h.Length];
        await _raw.ReadExactlyAsync(payload).AsTask().WaitAsync(Deadline);
        return (h.Type, h.StreamId, payload);
    }

    /// <summary>Reads frames until one of <paramref name="type"/> on <paramref name="id"/> (pings may come between).</summary>
    private async Task<byte[]> Expect(TunnelFrameType type, uint id)
    {
        while (true)
        {
            var f = await Receive();
            if (f.Type == type && f.Id == id) return f.Payload;
            Assert.True(f.Type is TunnelFrameType.Ping or TunnelFrameType.Window or TunnelFrameType.Data, $"unexpected {f.Type} on {f.Id}");
        }
    }

    private static byte[] U32(uint v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32BigEndian(b, v); return b; }

    private static byte[] OpenPayload(ushort port, uint window)
    {
        var b = new byte[6];
        BinaryPrimitives.WriteUInt16BigEndian(b, port);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(2), window);
        return b;
    }

    private async Task OpenStream(uint id)
    {
        await Send(TunnelFrameType.Open, id, OpenPayload(80, 65536));
        var ack = await Expect(TunnelFrameType.OpenAck, id);
        Assert.Equal((uint)_options.StreamWindow, BinaryPrimitives.ReadUInt32BigEndian(ack));
    }

    [Fact]
    public async Task Data_on_an_unknown_stream_is_answered_with_a_reset_and_the_tunnel_stays_up()
    {
        await Send(TunnelFrameType.Data, 99, [1, 2, 3]);
        var reason = Encoding.UTF8.GetString(await Expect(TunnelFrameType.Reset, 99));
        Assert.Contains("unknown stream", reason);
        // Positive control: a proper stream still echoes.
        await OpenStream(1);
        await Send(TunnelFrameType.Data, 1, "ping"u8.ToArray());
        Assert.Equal("ping"u8.ToArray(), await Expect(TunnelFrameType.Data, 1));
    }

    [Fact]
    public async Task Window_and_close_frames_for_unknown_streams_are_ignored()
    {
        await Send(TunnelFrameType.Window, 41, U32(100));
        await Send(TunnelFrameType.Close, 43, []);
        await Send(TunnelFrameType.Reset, 45, "x"u8.ToArray());
        await OpenStream(1);
        Assert.False(_agent.Completion.IsCompleted);
    }

    [Fact]
    public async Task More_data_than_the_credit_resets_that_stream_only()
    {
        // Stream 1 is never read (its connect never completes), so the window cannot be refilled while data
        // arrives: the fifth KiB is past the 4 KiB credit whatever the timing. An echoing stream would return
        // credit as it reads, which made this a race.
        await Send(TunnelFrameType.Open, 1, OpenPayload(9, 65536));
        await OpenStream(3);
        for (var i = 0; i < 5; i++) await Send(TunnelFrameType.Data, 1, new byte[1024]);
        var reason = Encoding.UTF8.GetString(await Expect(TunnelFrameType.Reset, 1));
        Assert.Contains("credit", reason);
        await Send(TunnelFrameType.Data, 3, "ok"u8.ToArray());
        Assert.Equal("ok"u8.ToArray(), await Expect(TunnelFrameType.Data, 3));
    }

    [Fact]
    public async Task A_window_update_that_overflows_resets_the_stream()
    {
        await OpenStream(1);
        await Send(TunnelFrameType.Window, 1, U32(int.MaxValue));
        var reason = Encoding.UTF8.GetString(await Expect(TunnelFrameType.Reset, 1));
        Assert.Contains("overflows", reason);
    }

    [Fact]
    public async Task Ping_is_answered_with_the_same_payload()
    {
        var payload = new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 };
        await Send(TunnelFrameType.Ping, 0, payload);
        Assert.Equal(payload, await Expect(TunnelFrameType.Pong, 0));
    }

    [Theory]
    [InlineData(TunnelFrameType.Data, 1u, 70_000)]     // longer than any frame may be
    [InlineData(TunnelFrameType.Window, 1u, 3)]        // a window frame has 4 bytes
    [InlineData(TunnelFrameType.Open, 1u, 2)]          // an open frame has 6 bytes
    [InlineData(TunnelFrameType.Ping, 5u, 8)]          // pings are on stream 0
    [InlineData(TunnelFrameType.Data, 0u, 3)]          // data is never on stream 0
    [InlineData((TunnelFrameType)42, 1u, 0)]           // no such frame type
    [InlineData(TunnelFrameType.Data, 1u, -1)]         // negative length
    public async Task A_frame_with_broken_framing_closes_the_tunnel_without_throwing(TunnelFrameType type, uint id, int length)
    {
        await Send(type, id, [], length);
        await _agent.Completion.WaitAsync(Deadline);
        await _run.WaitAsync(Deadline);
    }

    [Fact]
    public async Task An_open_on_an_id_of_the_wrong_parity_closes_the_tunnel()
    {
        await Send(TunnelFrameType.Open, 2, OpenPayload(80, 4096)); // even ids are the agent's own
        await _agent.Completion.WaitAsync(Deadline);
    }

    [Fact]
    public async Task An_open_with_a_zero_window_is_reset()
    {
        await Send(TunnelFrameType.Open, 1, OpenPayload(80, 0));
        Assert.Contains("window", Encoding.UTF8.GetString(await Expect(TunnelFrameType.Reset, 1)));
    }

    [Fact]
    public async Task Garbage_bytes_close_the_tunnel_without_throwing()
    {
        var garbage = new byte[4096];
        new Random(7).NextBytes(garbage);
        garbage[0] = 200;
        await _raw.WriteAsync(garbage);
        await _agent.Completion.WaitAsync(Deadline);
    }
}
