using System.Collections.Concurrent;

namespace VirtualCluster.P2P.Tests.Sctp;

/// <summary>Streams take turns, one whole message each, so a bulk transfer on one channel does not hold back another.</summary>
public sealed class SctpFairnessTests
{
    [Fact]
    public async Task A_small_message_on_one_channel_overtakes_a_queue_of_large_ones_on_another()
    {
        await using var pair = await SctpPair.ConnectAsync();
        var (bulk, bulkAtB) = await pair.OpenAsync("bulk");
        var (small, smallAtB) = await pair.OpenAsync("small");
        var arrivals = new ConcurrentQueue<string>();
        bulkAtB.MessageReceived += (_, m, _) => arrivals.Enqueue($"bulk{m[0]}");
        smallAtB.MessageReceived += (_, _, _) => arrivals.Enqueue("small");
        // the link holds everything back while both queues fill, so the order is the scheduler's, not the timing's
        pair.Link.Blocked = true;
        for (byte i = 0; i < 20; i++)
        {
            var message = new byte[65536];
            message[0] = i;
            bulk.Send(message);
        }
        small.Send([1]);
        pair.Link.Blocked = false;
        await Eventually.TrueAsync(() => arrivals.Count == 21, "all 21 messages arrive", TimeSpan.FromSeconds(30));
        var order = arrivals.ToList();
        // in arrival order: the bulk messages stay in their order, and the small one is not last behind all 20
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"bulk{i}"), order.Where(o => o != "small"));
        Assert.InRange(order.IndexOf("small"), 0, 5);
    }
}
