using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using VirtualCluster.P2P.DataChannels;

namespace VirtualCluster.P2P.IntegrationTests.Interop;

/// <summary>
/// Interop with node-datachannel (libdatachannel, npm) over loopback, with .NET as offerer and as answerer. Fails
/// with what to run when node or the package is missing (scripts/install-p2p-deps.sh installs both).
/// </summary>
public sealed class NodeDataChannelInteropTests
{
    private static readonly int[] Sizes = [0, 1, 100, 1163, 1200, 4096, 16 * 1024, 65535, 65536, 100_000, 256 * 1024];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Text_and_binary_messages_of_0_to_256_KiB_arrive_intact_both_ways(bool dotNetOffers)
    {
        await using var session = NodeSession.Start();
        var channel = await session.ConnectAsync(dotNetOffers, "first");
        var got = new ConcurrentQueue<(byte[] Data, bool Binary)>();
        channel.MessageReceived += (_, d, binary) => got.Enqueue((d.ToArray(), binary));

        var sent = new List<(string Hash, bool Binary)>();
        foreach (var size in Sizes)
        {
            var data = RandomNumberGenerator.GetBytes(size);
            channel.Send(data);
            sent.Add((Convert.ToHexString(SHA256.HashData(data)), true));
            var text = new string('t', size);
            channel.Send(text);
            sent.Add((Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))), false));
        }
        await Poll.UntilAsync(() => got.Count >= sent.Count, NodeSession.Timeout);
        Assert.Equal(sent, got.Select(g => (Convert.ToHexString(SHA256.HashData(g.Data)), g.Binary)));

        got.Clear();
        await session.Node.SendAsync(new JsonObject { ["cmd"] = "sendPatterns", ["label"] = "first", ["sizes"] = new JsonArray(Sizes.Select(s => (JsonNode)s).ToArray()) });
        await Poll.UntilAsync(() => got.Count >= Sizes.Length * 2, NodeSession.Timeout);
        var received = got.ToArray();
        for (var i = 0; i < Sizes.Length; i++)
        {
            var size = Sizes[i];
            Assert.True(received[2 * i].Binary);
            Assert.Equal(size, received[2 * i].Data.Length);
            for (var j = 0; j < size; j++) Assert.Equal((byte)((j * 31 + (size & 255)) & 255), received[2 * i].Data[j]);
            Assert.False(received[2 * i + 1].Binary);
            Assert.Equal(new string('b', size), Encoding.UTF8.GetString(received[2 * i + 1].Data));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_peer_closes_a_channel_and_opens_a_new_one(bool dotNetOffers)
    {
        await using var session = NodeSession.Start();
        var first = await session.ConnectAsync(dotNetOffers, "first");
        var closed = new TaskCompletionSource<string?>();
        first.Closed += (_, reason) => closed.TrySetResult(reason);
        await session.Node.SendAsync(new JsonObject { ["cmd"] = "close", ["label"] = "first" });
        await closed.Task.WaitAsync(NodeSession.Timeout);
        Assert.Equal(DataChannelState.Closed, first.State);

        await session.Node.SendAsync(new JsonObject { ["cmd"] = "open", ["label"] = "second" });
        var second = await session.Accepted.Reader.ReadAsync().AsTask().WaitAsync(NodeSession.Timeout);
        Assert.Equal("second", second.Label);
        await session.WaitEventAsync("open", "second");
        var echoed = new TaskCompletionSource<string>();
        second.MessageReceived += (_, d, _) => echoed.TrySetResult(Encoding.UTF8.GetString(d));
        second.Send("on the new channel");
        Assert.Equal("on the new channel", await echoed.Task.WaitAsync(NodeSession.Timeout));

        second.Close();
        await session.WaitEventAsync("close", "second");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Unordered_channel_without_retransmissions_carries_messages(bool dotNetOffers)
    {
        await using var session = NodeSession.Start();
        await session.ConnectAsync(dotNetOffers, "first");
        await session.Node.SendAsync(new JsonObject { ["cmd"] = "open", ["label"] = "lossy", ["unordered"] = true, ["maxRetransmits"] = 0 });
        var lossy = await session.Accepted.Reader.ReadAsync().AsTask().WaitAsync(NodeSession.Timeout);
        Assert.False(lossy.Ordered);
        Assert.Equal(0, lossy.MaxRetransmits);
        await session.WaitEventAsync("open", "lossy");
        var (echoed, lost) = await LossyEcho.RunAsync(lossy, 50, TimeSpan.FromSeconds(3));
        Assert.True(lost <= 3 && echoed >= 47, $"{echoed} of 50 messages came back ({lost} lost)");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Transfer_of_100_MB_arrives_with_matching_SHA256(bool dotNetOffers)
    {
        await using var session = NodeSession.Start();
        var channel = await session.ConnectAsync(dotNetOffers, "bulk");
        const long total = 100L * 1024 * 1024;
        await session.Node.SendAsync(new JsonObject { ["cmd"] = "receiveBulk", ["label"] = "bulk", ["total"] = total });
        var hash = await BulkSender.SendAsync(channel, total, TimeSpan.FromMinutes(5));
        var result = await session.WaitEventAsync("bulk", "bulk").WaitAsync(TimeSpan.FromMinutes(5));
        Assert.Equal(total, (long)result["bytes"]!);
        Assert.Equal(Convert.ToHexString(hash).ToLowerInvariant(), (string)result["sha256"]!);
    }
}
