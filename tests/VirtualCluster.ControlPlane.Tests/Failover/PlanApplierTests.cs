using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Tests.Failover;

/// <summary>The one plan applier: plans made from a snapshot are checked against the latest state before they are committed.</summary>
public sealed class PlanApplierTests : ClusterTestBase
{
    private static string Big(string name) => Spec(name, replicas: 1, memory: "3Gi");

    private async Task<(ServiceRecord Record, ClusterSnapshot Snapshot)> ServiceAsync(string name)
    {
        var snapshot = await Cluster.Term!.State.SnapshotAsync(default);
        return (snapshot.Services[name], snapshot);
    }

    [Fact]
    public async Task Two_plans_racing_for_the_last_capacity_of_a_node_exactly_one_wins_and_the_other_is_planned_again()
    {
        foreach (var name in new[] { "node-1", "node-2", "node-3" }) await JoinAsync(name); // 4 GiB each: one 3 GiB instance fits per node
        await DeployAsync(Big("a"));
        var (a, _) = await ServiceAsync("a");

        // While the deploy of "b" waits for the applier, another plan takes the very node and ports it chose.
        string? contested = null;
        Cluster.BeforeApply = async (plan, ct) =>
        {
            if (plan.Spec.Name != "b" || contested is not null) return;
            var chosen = plan.Place[0].Placement;
            contested = chosen.NodeId;
            var rival = await Cluster.ApplyPlanAsync(new Plan(a.Spec, a, [new PlannedInstance(new Placement(chosen.NodeId, chosen.Ports, 0))]), ct);
            Assert.True(rival.Applied, rival.Conflict);
        };
        var b = await DeployAsync(Big("b"));

        Assert.NotNull(contested);
        Assert.Equal(1, Cluster.PlanConflicts); // b's first plan was refused, not applied
        var onContested = (await Store.ListInstancesAsync(nodeId: contested)).Where(i => !i.IsTerminal).ToList();
        Assert.Equal("a", Assert.Single(onContested).Service); // exactly one winner on the contested node
        Assert.NotEqual(contested, Assert.Single(b).NodeId); // the loser was planned again, elsewhere
        foreach (var node in await Cluster.ListNodeViewsAsync(default))
            Assert.True(node.Allocated.MemoryBytes <= node.Node.Capacity.MemoryBytes, $"{node.Node.Name} is over capacity");
        Assert.Equal(3, (await Store.ListInstancesAsync()).Count(i => !i.IsTerminal));
    }

    [Fact]
    public async Task A_plan_made_from_an_old_snapshot_is_refused_whole_when_the_capacity_is_gone_and_nothing_of_it_is_stored()
    {
        var n1 = await JoinAsync("node-1");
        await DeployAsync(Big("a"));
        await DeployAsync(Spec("c", replicas: 1, memory: "256Mi"));
        var (a, _) = await ServiceAsync("a");
        var (c, _) = await ServiceAsync("c");
        // Node-1 has 4 GiB: a holds 3 GiB, c 256 MiB; two plans for the last 768 MiB, both made before either applies.
        var first = new Plan(c.Spec, c, [new PlannedInstance(new Placement(n1, new Dictionary<string, int> { ["http"] = 20050 }, 0)),
            new PlannedInstance(new Placement(n1, new Dictionary<string, int> { ["http"] = 20051 }, 0))]);
        var second = new Plan(c.Spec, c, [new PlannedInstance(new Placement(n1, new Dictionary<string, int> { ["http"] = 20052 }, 0)),
            new PlannedInstance(new Placement(n1, new Dictionary<string, int> { ["http"] = 20053 }, 0))]);

        var applied = await Cluster.ApplyPlanAsync(first, default);
        var refused = await Cluster.ApplyPlanAsync(second, default);

        Assert.True(applied.Applied, applied.Conflict); // positive control: the applier does apply a plan that fits
        Assert.False(refused.Applied);
        Assert.Contains("no longer has room", refused.Conflict, StringComparison.Ordinal);
        Assert.Equal(3, (await Store.ListInstancesAsync("c")).Count); // 1 + 2, none of the refused plan
        Assert.Single(await Store.ListInstancesAsync("a"));
        _ = a;
    }

    [Fact]
    public async Task A_plan_is_refused_when_a_port_is_taken_or_a_replaced_instance_changed_its_epoch()
    {
        var n1 = await JoinAsync("node-1");
        var web = await DeployAsync(Spec("web", replicas: 1, memory: "256Mi"));
        var (record, _) = await ServiceAsync("web");
        var taken = web[0].Ports["http"];

        var samePort = await Cluster.ApplyPlanAsync(new Plan(record.Spec, record, [new PlannedInstance(new Placement(n1, new Dictionary<string, int> { ["http"] = taken }, 0))]), default);
        Assert.False(samePort.Applied);
        Assert.Contains($"port {taken}", samePort.Conflict, StringComparison.Ordinal);

        var stale = web[0] with { Epoch = web[0].Epoch - 1 };
        var fenced = await Cluster.ApplyPlanAsync(new Plan(record.Spec, record,
            [new PlannedInstance(new Placement(n1, new Dictionary<string, int> { ["http"] = taken + 1 }, 0), stale, RemoveReplaced: true)]), default);
        Assert.False(fenced.Applied);
        Assert.Contains("changed meanwhile", fenced.Conflict, StringComparison.Ordinal);

        // Positive control: the same replacement with the current epoch applies, and the replaced record goes with it.
        var current = await Cluster.ApplyPlanAsync(new Plan(record.Spec, record,
            [new PlannedInstance(new Placement(n1, new Dictionary<string, int> { ["http"] = taken + 1 }, 0), web[0], RemoveReplaced: true)]), default);
        Assert.True(current.Applied, current.Conflict);
        var now = Assert.Single(await Store.ListInstancesAsync("web"));
        Assert.Equal(web[0].Id, now.Replaces);
        Assert.True(now.Epoch > web[0].Epoch);
    }

    [Fact]
    public async Task Epochs_reserved_in_one_write_are_distinct_and_below_every_later_epoch()
    {
        var batch = await Store.NextEpochsAsync(50);
        var single = await Store.NextEpochAsync();
        var again = await Store.NextEpochsAsync(3);
        Assert.Equal(50, batch.Distinct().Count());
        Assert.True(batch.Zip(batch.Skip(1)).All(p => p.Second > p.First));
        Assert.True(single > batch[^1]);
        Assert.True(again[0] > single);
    }
}
