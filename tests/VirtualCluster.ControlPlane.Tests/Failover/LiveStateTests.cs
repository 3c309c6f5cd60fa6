using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Tests.Failover;

/// <summary>The leader's in-memory cluster state: consistent snapshots, kept current by its own writes, per term.</summary>
public sealed class LiveStateTests : ClusterTestBase
{
    /// <summary>Every index of a snapshot agrees with its records, and every instance belongs to a service of that snapshot.</summary>
    private static void AssertConsistent(ClusterSnapshot s)
    {
        foreach (var instance in s.Instances.Values)
        {
            Assert.True(s.Services.ContainsKey(instance.Service), $"{instance.Id} has no service in snapshot {s.Version}");
            Assert.Contains(instance.Id, s.InstancesByNode[instance.NodeId]);
            Assert.Contains(instance.Id, s.InstancesByService[instance.Service]);
        }
        Assert.Equal(s.Instances.Count, s.InstancesByNode.Values.Sum(ids => ids.Count));
        Assert.Equal(s.Instances.Count, s.InstancesByService.Values.Sum(ids => ids.Count));
    }

    private static string Json(ServiceInstance instance) => System.Text.Json.JsonSerializer.Serialize(instance, VirtualClusterJson.Options);

    [Fact]
    public async Task A_snapshot_stays_consistent_and_unchanged_while_writes_go_on()
    {
        var nodes = new List<string>();
        for (var i = 1; i <= 4; i++) nodes.Add(await JoinAsync($"node-{i}", memory: 16 * Gi));
        var live = Cluster.Term!.State;
        var before = await live.SnapshotAsync(default);
        var countBefore = before.Instances.Count;

        // Writers: deploys, removals and agent reports; a reader takes snapshots all along and checks each one.
        using var stop = new CancellationTokenSource();
        var seen = 0;
        var reader = Task.Run(async () =>
        {
            var last = 0L;
            do
            {
                var s = await live.SnapshotAsync(default);
                Assert.True(s.Version >= last, "versions never go back");
                last = s.Version;
                AssertConsistent(s);
                Interlocked.Increment(ref seen);
                await Task.Yield();
            }
            while (!stop.IsCancellationRequested);
        });
        for (var round = 0; round < 10; round++)
        {
            await DeployAsync(Spec($"svc-{round}", replicas: 3, memory: "256Mi"));
            foreach (var node in nodes) await ReportAsync(node);
            if (round % 3 == 2) Assert.True(await Cluster.RemoveAsync($"svc-{round - 1}", default));
            // The reader checks at least one snapshot after each round, however slowly a loaded machine schedules it
            // (it failed on CI when the writes finished before the reader's first turn).
            var mark = Volatile.Read(ref seen);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (Volatile.Read(ref seen) == mark && !reader.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(1);
            Assert.True(Volatile.Read(ref seen) > mark || reader.IsFaulted, $"the reader took no snapshot after round {round}");
            if (reader.IsFaulted) break;
        }
        stop.Cancel();
        await reader;

        Assert.True(seen >= 10);
        Assert.Equal(countBefore, before.Instances.Count); // the snapshot taken first did not move
        Assert.Empty(before.Services);
        var after = await live.SnapshotAsync(default);
        AssertConsistent(after);
        Assert.Equal(7 * 3, after.Instances.Count); // positive control: the writes are in the current snapshot
        Assert.Equal((await Store.ListInstancesAsync()).Select(i => i.Id).Order(), after.Instances.Keys.Order());
    }

    [Fact]
    public async Task A_new_term_rebuilds_the_state_from_the_store_with_nothing_lost()
    {
        var n1 = await JoinAsync("node-1", memory: 16 * Gi);
        var n2 = await JoinAsync("node-2", memory: 16 * Gi);
        await DeployAsync(Spec("web", replicas: 4, memory: "1Gi"));
        await DeployAsync(Spec("api", replicas: 2, memory: "1Gi"));
        await ReportAsync(n1);
        await ReportAsync(n2, InstanceState.Failed, "crashed");
        var old = Cluster.Term!;
        var was = await old.State.SnapshotAsync(default);

        Cluster.EndTerm();
        Assert.Null(Cluster.Term); // between terms nothing is kept: views read the store
        Assert.Equal(6, (await Cluster.ListServiceViewsAsync(default)).Sum(v => v.Instances.Count));
        Cluster.BeginTerm();
        var term = Cluster.Term!;
        var now = await term.State.SnapshotAsync(default);

        Assert.NotSame(old, term);
        Assert.Equal(1, term.State.Loads);
        Assert.Equal(was.Nodes.Keys.Order(), now.Nodes.Keys.Order());
        Assert.Equal(was.Services.Keys.Order(), now.Services.Keys.Order());
        foreach (var (id, instance) in was.Instances) Assert.Equal(Json(instance), Json(now.Instances[id])); // records hold dictionaries: compare as stored
        Assert.Equal(was.Instances.Count, now.Instances.Count);

        // A control plane started on the same store (a new leader process) sees the same, and places on top of it.
        var other = new ClusterService(Store, new PipelineScheduler(), Detector, Time, Microsoft.Extensions.Options.Options.Create(Options),
            NullLogger<ClusterService>.Instance);
        var fresh = await other.Term!.State.SnapshotAsync(default);
        Assert.Equal(was.Instances.Keys.Order(), fresh.Instances.Keys.Order());
        var outcome = await other.DeployAsync(Spec("more", replicas: 2, memory: "1Gi"), default);
        Assert.Equal(201, outcome.StatusCode);
        foreach (var node in await other.ListNodeViewsAsync(default))
            Assert.Equal((await Store.ListInstancesAsync(nodeId: node.Node.Id)).Count(i => !i.IsTerminal), node.Instances);
    }

    [Fact]
    public async Task The_kept_scheduling_state_follows_ended_instances_without_being_built_again()
    {
        var n1 = await JoinAsync("node-1", memory: 4 * Gi);
        await DeployAsync(Spec("web", replicas: 3, memory: "1Gi"));
        var planner = Cluster.Term!.Planner!;
        var builds = planner.Builds;

        // A failed instance gives its memory back: the next deploy fits in it, with no rebuild of the kept state.
        var web = await Store.ListInstancesAsync("web");
        await BeatAsync(n1, [new InstanceReport(web[0].Id, web[0].Epoch, InstanceState.Failed, "crashed", 0, 1, [])]);
        var outcome = await Cluster.DeployAsync(Spec("big", replicas: 1, memory: "2Gi"), default);

        Assert.Equal(201, outcome.StatusCode);
        Assert.Equal(builds, planner.Builds);
        // Positive control: a node joining makes it build again.
        await JoinAsync("node-2");
        Assert.Equal(201, (await Cluster.DeployAsync(Spec("small", replicas: 1, memory: "256Mi"), default)).StatusCode);
        Assert.Equal(builds + 1, planner.Builds);
    }

    [Fact]
    public async Task The_kept_scheduling_state_follows_a_node_going_down_and_coming_back_without_being_built_again()
    {
        var n1 = await JoinAsync("node-1", memory: 4 * Gi);
        var n2 = await JoinAsync("node-2", memory: 4 * Gi, firstPort: 21000);
        var placed = await DeployAsync(Spec("web", replicas: 2, memory: "1Gi"));
        await RunAsync(TimeSpan.FromSeconds(2), n1, n2);
        var planner = Cluster.Term!.Planner!;
        _ = await planner.CurrentAsync(default);
        var builds = planner.Builds;
        var victim = placed[0].NodeId;
        var survivor = victim == n1 ? n2 : n1;

        // The victim falls silent: its replica is placed on the survivor by the kept state, marked down in place.
        await UntilAsync(async () => (await Store.ListInstancesAsync("web")).Count(i => i.NodeId == survivor && !i.IsTerminal) == 2,
            TimeSpan.FromSeconds(10), survivor);
        Assert.Equal(builds, planner.Builds);
        // Spread prefers the emptier node, which is the down one: it must take nothing.
        var api = await DeployAsync(Spec("api", replicas: 1, memory: "256Mi", extra: ", \"placement\": { \"strategy\": \"spread\" }"));
        Assert.Equal(survivor, Assert.Single(api).NodeId);
        Assert.Equal(builds, planner.Builds);

        // Back again: the kept state offers it at once (the survivor lacks the memory for 2 GiB more).
        await RunAsync(TimeSpan.FromSeconds(2), n1, n2);
        var big = await DeployAsync(Spec("big", replicas: 1, memory: "3Gi"));
        Assert.Equal(victim, Assert.Single(big).NodeId);
        Assert.Equal(builds, planner.Builds);
    }

    [Fact]
    public async Task A_kept_state_older_than_the_in_place_limit_is_built_again_on_a_liveness_change_so_measured_usage_is_fresh()
    {
        var n1 = await JoinAsync("node-1", memory: 4 * Gi);
        var n2 = await JoinAsync("node-2", memory: 4 * Gi, firstPort: 21000);
        var placed = await DeployAsync(Spec("web", replicas: 2, memory: "1Gi"));
        var planner = Cluster.Term!.Planner!;
        await RunAsync(PlannerState.InPlaceFor + TimeSpan.FromSeconds(1), n1, n2);
        var builds = planner.Builds;
        var victim = placed[0].NodeId;
        var survivor = victim == n1 ? n2 : n1;

        await UntilAsync(async () => (await Store.ListInstancesAsync("web")).Count(i => i.NodeId == survivor && !i.IsTerminal) == 2,
            TimeSpan.FromSeconds(10), survivor);
        Assert.Equal(builds + 1, planner.Builds);
    }
}
