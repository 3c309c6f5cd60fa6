using System.Net.WebSockets;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Routing.Signaling;

namespace VirtualCluster.Routing.Tests.Signaling;

/// <summary>What one peer can make the hub hold: bounded queues, discarded oversized input; and the limits' own rules.</summary>
[Collection(MemoryMeasurementCollection.Name)]
public sealed class SignalingLimitsTests
{
    [Fact]
    public async Task A_peer_that_never_reads_costs_at_most_its_send_queue_and_senders_hear_peer_busy()
    {
        await using var host = await HubHost.StartAsync(o =>
        {
            o.SendQueueLength = 16;
            o.MessagesPerSecond = 100_000;
            o.Burst = 100_000;
        });
        using var sender = await host.RawAsync(host.Token("alpha", "a"));
        using var sink = await host.RawAsync(host.Token("alpha", "sink")); // never reads after connecting
        await sender.ExpectAsync("welcome");

        var candidate = Raw.To("sink", $$"""{"type":"candidate","candidate":"candidate:{{new string('x', 3500)}}"}""");
        var busy = 0;
        var reader = Task.Run(async () =>
        {
            while (await sender.ReceiveFrameAsync() is { } frame)
                if (frame.Code == SignalingErrorCodes.PeerBusy && Interlocked.Increment(ref busy) >= 50) return;
        });
        var maxQueued = 0;
        // Up to 32 MB, far more than socket buffers hold, until the hub has refused enough.
        for (var i = 0; i < 9000 && Volatile.Read(ref busy) < 50; i++)
        {
            await sender.SendAsync(candidate);
            maxQueued = Math.Max(maxQueued, host.Hub.QueuedFor("alpha", "sink"));
        }
        await reader.WaitAsync(Raw.Deadline);
        // A sample taken right after a send can come before the hub has queued it; once senders hear peer-busy the
        // queue is full and stays so (the sink never reads), so sample it again until it shows.
        var until = DateTime.UtcNow + Raw.Deadline;
        while (maxQueued == 0 && DateTime.UtcNow < until)
        {
            maxQueued = Math.Max(maxQueued, host.Hub.QueuedFor("alpha", "sink"));
            if (maxQueued == 0) await Task.Delay(10);
        }

        Assert.True(busy >= 50, $"only {busy} peer-busy errors");
        Assert.InRange(maxQueued, 1, 16);
        Assert.True(host.Hub.IsConnected("alpha", "sink"));
    }

    [Fact]
    public async Task Oversized_floods_are_discarded_as_they_arrive()
    {
        await using var host = await HubHost.StartAsync(o => o.MaxStrikes = 10_000);
        using var a = await host.RawAsync(host.Token("alpha", "a"));
        await a.ExpectAsync("welcome");
        var chunk = new byte[64 * 1024];
        const int Frames = 64, ChunksPerFrame = 16; // 64 frames of 1 MiB

        GC.Collect();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var errors = Task.Run(async () =>
        {
            for (var i = 0; i < Frames; i++) await a.ExpectAsync("error", SignalingErrorCodes.TooLarge);
        });
        for (var f = 0; f < Frames; f++)
            for (var c = 0; c < ChunksPerFrame; c++)
                await a.SendAsync(chunk, WebSocketMessageType.Text, c == ChunksPerFrame - 1, CancellationToken.None);
        await errors.WaitAsync(Raw.Deadline); // every frame was seen and refused
        var growth = GC.GetTotalMemory(forceFullCollection: true) - before;

        Assert.True(growth < 16L << 20, $"memory grew by {growth / 1024} KiB after 64 MiB of oversized frames");
    }

    [Fact]
    public void Token_bucket_allows_the_burst_then_the_rate()
    {
        var clock = new FakeTimeProvider();
        var bucket = new TokenBucket(rate: 2, burst: 3, clock);
        Assert.Equal([true, true, true, false], Enumerable.Range(0, 4).Select(_ => bucket.TryTake()));
        clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal([true, false], Enumerable.Range(0, 2).Select(_ => bucket.TryTake()));
        clock.Advance(TimeSpan.FromHours(1)); // refills to the burst, not beyond
        Assert.Equal(3, Enumerable.Range(0, 10).Count(_ => bucket.TryTake()));
    }

    [Fact]
    public void Hub_options_validator_names_every_bad_setting()
    {
        var result = new SignalingHubOptionsValidator().Validate(null, new SignalingHubOptions
        {
            MaxMessageBytes = 10,
            MessagesPerSecond = double.NaN,
            Burst = 0,
            MaxStrikes = 0,
            SendQueueLength = 0,
            MaxPeers = 0,
            KeepAliveInterval = TimeSpan.FromSeconds(-1),
        });
        Assert.True(result.Failed);
        foreach (var name in new[] { "MaxMessageBytes", "MessagesPerSecond", "Burst", "MaxStrikes", "SendQueueLength", "MaxPeers", "KeepAliveInterval" })
            Assert.Contains(name, result.FailureMessage);
        Assert.True(new SignalingHubOptionsValidator().Validate(null, new SignalingHubOptions()).Succeeded);
    }

    [Fact]
    public void Client_options_are_checked_when_the_client_is_made()
    {
        var error = Assert.Throws<ArgumentException>(() => new SignalingClient(new SignalingClientOptions
        {
            HubUri = new Uri("http://gateway/v1/signaling"),
            InitialBackoff = TimeSpan.Zero,
        }));
        Assert.Contains("HubUri", error.Message);
        Assert.Contains("TokenProvider", error.Message);
        Assert.Contains("InitialBackoff", error.Message);
    }
}
