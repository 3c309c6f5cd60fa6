using System.Collections.Concurrent;
using static VirtualCluster.ControlPlane.Tests.Store.StoreTestData;

namespace VirtualCluster.ControlPlane.Tests.Store;

// Epochs, events, logs, settings and concurrency.
public abstract partial class ClusterStoreContractTests
{
    [Fact]
    public async Task Epochs_strictly_increase()
    {
        var previous = 0L;
        for (var i = 0; i < 20; i++)
        {
            var epoch = await Store.NextEpochAsync();
            Assert.True(epoch > previous, $"{epoch} after {previous}");
            previous = epoch;
        }
    }

    [Fact]
    public async Task Parallel_epochs_are_all_distinct()
    {
        var epochs = new ConcurrentBag<long>();

        await Parallel.ForEachAsync(Enumerable.Range(0, 1000), new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (_, ct) => epochs.Add(await Store.NextEpochAsync(ct)));

        Assert.Equal(1000, epochs.Distinct().Count());
        Assert.All(epochs, e => Assert.True(e > 0));
    }

    [Fact]
    public async Task Events_get_increasing_sequences_and_keep_their_fields()
    {
        var first = await Store.AppendEventAsync(new ClusterEvent(0, Time, "service.deployed", "hello", "Deployed hello with 3 replicas."));
        var second = await Store.AppendEventAsync(new ClusterEvent(0, Time.AddSeconds(1), "node.down", "node-1", "Node node-1 missed 3 heartbeats."));

        Assert.True(first.Sequence > 0);
        Assert.True(second.Sequence > first.Sequence);
        Assert.Equal(new ClusterEvent(first.Sequence, Time, "service.deployed", "hello", "Deployed hello with 3 replicas."), first);

        var all = await Store.ListEventsAsync(0, 100);
        Assert.Equal([first, second], all);
        AssertSameInstant(Time, all[0].Timestamp);
    }

    [Fact]
    public async Task Events_are_paged_by_sequence_and_limit()
    {
        var appended = new List<ClusterEvent>();
        for (var i = 0; i < 10; i++) appended.Add(await Store.AppendEventAsync(new ClusterEvent(0, Time, "k", $"s{i}", $"m{i}")));

        Assert.Equal(appended.Take(3), await Store.ListEventsAsync(0, 3));
        Assert.Equal(appended.Skip(4).Take(2), await Store.ListEventsAsync(appended[3].Sequence, 2));
        Assert.Empty(await Store.ListEventsAsync(appended[^1].Sequence, 10));
        Assert.Empty(await Store.ListEventsAsync(0, 0));
    }

    [Fact]
    public async Task Logs_are_read_oldest_first_after_a_sequence_up_to_a_limit()
    {
        await Store.AppendLogsAsync("i-1", [Line(3), Line(1), Line(2)]);
        await Store.AppendLogsAsync("i-1", [Line(4), Line(5)]);

        var all = await Store.ReadLogsAsync("i-1", 0, 100);
        Assert.Equal([1L, 2, 3, 4, 5], all.Select(l => l.Sequence));
        AssertEquivalent(Line(2), all[1]);
        Assert.Equal([3L, 4], (await Store.ReadLogsAsync("i-1", 2, 2)).Select(l => l.Sequence));
        Assert.Empty(await Store.ReadLogsAsync("i-1", 5, 10));
        Assert.Empty(await Store.ReadLogsAsync("i-1", 0, 0));
        Assert.Equal(5, await Store.LastLogSequenceAsync("i-1"));
    }

    [Fact]
    public async Task Log_lines_already_stored_are_ignored()
    {
        await Store.AppendLogsAsync("i-1", [Line(1, "first"), Line(2, "second")]);
        await Store.AppendLogsAsync("i-1", [Line(2, "resent"), Line(3, "third"), Line(3, "dup in batch")]);

        Assert.Equal(["first", "second", "third"], (await Store.ReadLogsAsync("i-1", 0, 100)).Select(l => l.Text));
    }

    [Fact]
    public async Task Logs_are_kept_per_instance()
    {
        await Store.AppendLogsAsync("i-1", [Line(1), Line(2)]);
        await Store.AppendLogsAsync("i-2", [Line(7)]);
        await Store.AppendLogsAsync("i-3", []);

        Assert.Equal(2, await Store.LastLogSequenceAsync("i-1"));
        Assert.Equal(7, await Store.LastLogSequenceAsync("i-2"));
        Assert.Equal(0, await Store.LastLogSequenceAsync("i-3"));
        Assert.Equal([7L], (await Store.ReadLogsAsync("i-2", 0, 10)).Select(l => l.Sequence));
    }

    [Fact]
    public async Task Deleting_an_instance_removes_its_logs()
    {
        await Store.CreateServiceAsync(Service("a"), [Instance("a-1", "a")]);
        await Store.AppendLogsAsync("a-1", [Line(1)]);

        await Store.DeleteInstanceAsync("a-1");

        Assert.Equal(0, await Store.LastLogSequenceAsync("a-1"));
    }

    [Fact]
    public async Task Settings_keep_the_first_value()
    {
        Assert.Null(await Store.GetSettingAsync("cluster.id"));

        Assert.Equal("one", await Store.GetOrAddSettingAsync("cluster.id", "one"));
        Assert.Equal("one", await Store.GetOrAddSettingAsync("cluster.id", "two"));
        Assert.Equal("one", await Store.GetSettingAsync("cluster.id"));
    }

    [Fact]
    public async Task Parallel_get_or_add_agrees_on_one_value()
    {
        var seen = new ConcurrentBag<string>();

        await Parallel.ForEachAsync(Enumerable.Range(0, 64), async (i, ct) => seen.Add(await Store.GetOrAddSettingAsync("key", $"v{i}", ct)));

        Assert.Single(seen.Distinct());
        Assert.Equal(seen.First(), await Store.GetSettingAsync("key"));
    }

    [Fact]
    public async Task Parallel_mixed_operations_all_take_effect()
    {
        await Parallel.ForEachAsync(Enumerable.Range(0, 40), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            var name = $"svc-{i}";
            Assert.True(await Store.CreateServiceAsync(Service(name), [Instance($"{name}-a", name), Instance($"{name}-b", name)], ct));
            await Store.UpsertNodeAsync(Node($"node-{i}"), ct);
            await Store.UpsertInstanceAsync(Instance($"{name}-a", name, state: InstanceState.Failed), ct);
            await Store.AppendLogsAsync($"{name}-a", [Line(1), Line(2)], ct);
            await Store.AppendEventAsync(new ClusterEvent(0, Time, "service.deployed", name, "deployed"), ct);
            _ = await Store.ListInstancesAsync(cancellationToken: ct);
            _ = await Store.ListServicesAsync(ct);
        });

        Assert.Equal(40, (await Store.ListServicesAsync()).Count);
        Assert.Equal(40, (await Store.ListNodesAsync()).Count);
        var instances = await Store.ListInstancesAsync();
        Assert.Equal(80, instances.Count);
        Assert.Equal(40, instances.Count(i => i.State == InstanceState.Failed));
        Assert.Equal(40, (await Store.ListEventsAsync(0, 1000)).Select(e => e.Sequence).Distinct().Count());
        Assert.Equal(2, await Store.LastLogSequenceAsync("svc-17-a"));
    }
}
