using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Tests.Failover;

/// <summary>Replicated volumes in the control plane (issue 16): holders, reported syncs, failover onto the freshest replica.</summary>
public sealed class ReplicatedVolumeFailoverTests() : ClusterTestBase(o => o.FencingLease = TimeSpan.FromSeconds(2))
{
    private const string Volumes = """, "volumes": [ { "name": "data", "mountPath": "/data", "replicas": 2, "sync": "1s" } ]""";

    private async Task<string> JoinWithReplicasAsync(string name, int firstPort, string zone)
    {
        var outcome = await Cluster.JoinAsync(new JoinRequest("checked-by-api", name, "127.0.0.1", new Resources(4000, 4 * Gi, 100 * Gi), ["process"],
            new PortRange(firstPort, firstPort + 99), new Dictionary<string, string> { ["zone"] = zone }, ReplicaPort: firstPort + 500), default);
        Assert.Equal(200, outcome.StatusCode);
        return outcome.Value!.Id;
    }

    private async Task<string[]> FourNodesAsync() =>
        [await JoinWithReplicasAsync("node-1", 20000, "a"), await JoinWithReplicasAsync("node-2", 21000, "a"),
         await JoinWithReplicasAsync("node-3", 22000, "b"), await JoinWithReplicasAsync("node-4", 23000, "c")];

    private static VolumeSyncReport Sync(string holder, long epoch, long sequence, DateTimeOffset at) => new("data", holder, epoch, sequence, at, 0.2, 0);

    [Fact]
    public async Task Holders_are_other_nodes_in_other_zones_and_the_agent_learns_where_they_listen()
    {
        var nodes = await FourNodesAsync();
        var instance = Assert.Single(await DeployAsync(Spec(replicas: 1, extra: Volumes)));
        var stored = Assert.Single(await Store.ListInstancesAsync("web"));
        Assert.Equal(stored.Id, stored.VolumeSet);
        Assert.Equal(2, stored.ReplicaHolders!.Count);
        Assert.DoesNotContain(stored.NodeId, stored.ReplicaHolders);
        var zones = (await Store.ListNodesAsync()).ToDictionary(n => n.Id, n => n.Labels["zone"]);
        // Zones a, a, b, c: wherever the instance runs, it and its two holders can be in three zones, so they are.
        Assert.Equal(3, stored.ReplicaHolders.Append(stored.NodeId).Select(h => zones[h]).Distinct().Count());

        var answer = await ReportAsync(instance.NodeId);
        var assignment = Assert.Single(answer.Assignments);
        Assert.Equal(stored.VolumeSet, assignment.VolumeSet);
        Assert.Equal(stored.ReplicaHolders.Order(), assignment.Holders!.Select(h => h.NodeId).Order());
        Assert.All(assignment.Holders!, h => Assert.InRange(h.Port, 20500, 23599));
        Assert.Equal(4, nodes.Length);
    }

    [Fact]
    public async Task A_lost_instance_comes_back_on_the_holder_with_the_newest_sync_with_a_new_epoch_and_the_sync_in_the_event_log()
    {
        var nodes = await FourNodesAsync();
        var first = Assert.Single(await DeployAsync(Spec(replicas: 1, extra: Volumes)));
        await RunAsync(TimeSpan.FromSeconds(2), nodes);
        var stored = Assert.Single(await Store.ListInstancesAsync("web"));
        var (older, newer) = (stored.ReplicaHolders![0], stored.ReplicaHolders[1]);
        var now = Time.GetUtcNow();
        var report = new InstanceReport(stored.Id, stored.Epoch, InstanceState.Running, "", 0, 100, [],
            [Sync(older, stored.Epoch, 40, now - TimeSpan.FromSeconds(3)), Sync(newer, stored.Epoch, 7, now - TimeSpan.FromMilliseconds(300))]);
        Assert.Equal(200, (await BeatAsync(first.NodeId, [report])).StatusCode);
        var view = await ViewAsync();
        Assert.Equal(2, view.Instances.Single().Replicas!.Count);
        Assert.Contains(view.Instances.Single().Replicas!, r => r.Sequence == 7 && r.LagSeconds == 0.2);

        var alive = nodes.Where(n => n != first.NodeId).ToArray();
        await UntilAsync(async () => (await Store.ListInstancesAsync("web")).Any(i => i.NodeId != first.NodeId && i.State == InstanceState.Running),
            TimeSpan.FromSeconds(20), alive);

        var replacement = Assert.Single(await Store.ListInstancesAsync("web"));
        Assert.Equal(newer, replacement.NodeId);
        Assert.Equal(stored.VolumeSet, replacement.VolumeSet);
        Assert.True(replacement.Epoch > stored.Epoch);
        Assert.DoesNotContain(replacement.NodeId, replacement.ReplicaHolders!);
        Assert.Contains(older, replacement.ReplicaHolders!); // it holds the data already: the next sync is a delta
        var restored = Assert.Single(await EventsAsync(), e => e.Kind == EventKinds.VolumeRestored);
        Assert.Equal(replacement.Id, restored.Instance);
        Assert.Contains("at sync 7 of epoch", restored.Message);
    }

    [Fact]
    public async Task A_failed_instance_is_replaced_on_the_holder_with_its_newest_sync()
    {
        var nodes = await FourNodesAsync();
        var first = Assert.Single(await DeployAsync(Spec(replicas: 1, extra: Volumes)));
        await RunAsync(TimeSpan.FromSeconds(1), nodes);
        var stored = Assert.Single(await Store.ListInstancesAsync("web"));
        var (older, newer) = (stored.ReplicaHolders![1], stored.ReplicaHolders[0]);
        var now = Time.GetUtcNow();
        var report = new InstanceReport(stored.Id, stored.Epoch, InstanceState.Failed, "exited with code 1", 5, null, [],
            [Sync(older, stored.Epoch, 3, now - TimeSpan.FromSeconds(2)), Sync(newer, stored.Epoch, 2, now - TimeSpan.FromSeconds(1))]);
        Assert.Equal(200, (await BeatAsync(first.NodeId, [report])).StatusCode);
        await Cluster.ReconcileOnceAsync(default);

        var replacement = Assert.Single(await Store.ListInstancesAsync("web"), i => !i.IsTerminal);
        Assert.Equal(newer, replacement.NodeId);
        Assert.Equal(stored.VolumeSet, replacement.VolumeSet);
        Assert.Contains(await EventsAsync(), e => e.Kind == EventKinds.VolumeRestored && e.Instance == replacement.Id && e.Message.Contains("at sync 2 of epoch"));
    }

    [Fact]
    public async Task Without_a_completed_sync_the_replacement_starts_a_volume_set_of_its_own_and_the_event_log_says_so()
    {
        var nodes = await FourNodesAsync();
        var first = Assert.Single(await DeployAsync(Spec(replicas: 1, extra: Volumes)));
        await RunAsync(TimeSpan.FromSeconds(2), nodes);
        var stored = Assert.Single(await Store.ListInstancesAsync("web"));

        var alive = nodes.Where(n => n != first.NodeId).ToArray();
        await UntilAsync(async () => (await Store.ListInstancesAsync("web")).Any(i => i.NodeId != first.NodeId && i.State == InstanceState.Running),
            TimeSpan.FromSeconds(20), alive);
        // Even on a holder: with no completed sync there, its volume could be empty or stale, and its newer epoch
        // would overwrite the other holders' replicas. It starts a volume set of its own; the event log says so.
        var replacement = Assert.Single(await Store.ListInstancesAsync("web"));
        Assert.Equal(replacement.Id, replacement.VolumeSet);
        Assert.NotEqual(stored.VolumeSet, replacement.VolumeSet);
        Assert.Contains(await EventsAsync(), e => e.Kind == EventKinds.VolumeNotRestored && e.Instance == replacement.Id);
    }

    [Fact]
    public async Task Hostile_sync_reports_are_ignored()
    {
        var nodes = await FourNodesAsync();
        var first = Assert.Single(await DeployAsync(Spec(replicas: 1, extra: Volumes)));
        var stored = Assert.Single(await Store.ListInstancesAsync("web"));
        var holder = stored.ReplicaHolders![0];
        var stranger = nodes.First(n => n != stored.NodeId && !stored.ReplicaHolders.Contains(n));
        var now = Time.GetUtcNow();
        VolumeSyncReport[] hostile =
        [
            new("other", holder, stored.Epoch, 1, now, 0, 0),            // not a replicated volume
            new("data", stranger, stored.Epoch, 1, now, 0, 0),           // not a holder
            new("data", holder, stored.Epoch - 1, 1, now, 0, 0),         // another epoch
            new("data", holder, stored.Epoch, -1, now, 0, 0),            // negative sequence
            new("data", holder, stored.Epoch, 1, now, double.NaN, 0),    // NaN lag
            new("data", holder, stored.Epoch, 1, now, 0, -5),            // negative bytes
            null!,
        ];
        var report = new InstanceReport(stored.Id, stored.Epoch, InstanceState.Running, "", 0, 100, [], hostile);
        Assert.Equal(200, (await BeatAsync(first.NodeId, [report])).StatusCode);
        Assert.Null(Assert.Single(await Store.ListInstancesAsync("web")).Syncs);

        // Positive control: the same report with a good entry stores exactly that one.
        report = report with { Syncs = [.. hostile, new("data", holder, stored.Epoch, 3, now, 0.1, 10, new string('x', 5000))] };
        Assert.Equal(200, (await BeatAsync(first.NodeId, [report])).StatusCode);
        var kept = Assert.Single(Assert.Single(await Store.ListInstancesAsync("web")).Syncs!);
        Assert.Equal(3, kept.Sequence);
        Assert.Equal(512, kept.LastError!.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(70000)]
    [InlineData(-1)]
    public async Task A_bad_replica_port_is_refused_naming_the_field(int port)
    {
        var join = await Cluster.JoinAsync(new JoinRequest("checked-by-api", "node-x", "127.0.0.1", new Resources(4000, 4 * Gi, 100 * Gi), ["process"],
            new PortRange(20000, 20099), null, ReplicaPort: port), default);
        Assert.Equal(400, join.StatusCode);
        Assert.Contains("replicaPort", join.Error!.Error);

        var node = await JoinWithReplicasAsync("node-y", 21000, "a");
        var beat = await Cluster.HeartbeatAsync(node, new HeartbeatRequest(new ResourceUsage(1, 1, 1), default, ["process"], [], ReplicaPort: port), default);
        Assert.Equal(400, beat.StatusCode);
        Assert.Contains("replicaPort", beat.Error!.Error);
    }
}
