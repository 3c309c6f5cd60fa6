using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Tests.Cluster;

/// <summary>Rebalance with consolidation: plans that free whole nodes, applied through the same moves as a rebalance.</summary>
public sealed partial class SchedulingTests
{
    /// <summary>Three 1 GiB replicas spread by the default (preferred) anti-affinity over three 4 GiB nodes, all running.</summary>
    private async Task<string[]> SpreadOverThreeNodesAsync()
    {
        var nodes = new[] { await JoinAsync("node-1"), await JoinAsync("node-2", firstPort: 21000), await JoinAsync("node-3", firstPort: 22000) };
        var deployed = await _cluster.DeployAsync(Spec(replicas: 3), default);
        Assert.Equal(201, deployed.StatusCode);
        Assert.Equal(3, deployed.Service!.Instances.Select(i => i.NodeName).Distinct().Count());
        foreach (var node in nodes) await BeatAsync(node, state: InstanceState.Running);
        return nodes;
    }

    [Fact]
    public async Task Consolidate_dry_run_names_the_nodes_it_frees_and_changes_nothing()
    {
        await SpreadOverThreeNodesAsync();

        var dry = (await _cluster.RebalanceAsync(new RebalanceRequest(Consolidate: true), default)).Value!;

        Assert.False(dry.Applied);
        Assert.Equal(2, dry.Plan.Moves.Count);
        Assert.Equal(2, dry.Plan.FreedNodes!.Count);
        var kept = Assert.Single(new[] { "node-1", "node-2", "node-3" }.Except(dry.Plan.FreedNodes));
        Assert.All(dry.Plan.Moves, m => Assert.Equal(kept, m.ToNode));
        Assert.Equal(dry.Plan.FreedNodes.Order(), dry.Plan.Moves.Select(m => m.FromNode).Order());
        Assert.Contains("free 2 node(s): 3 in use before, 1 after", dry.Plan.Summary);
        var instances = await _store.ListInstancesAsync("web");
        Assert.Equal(3, instances.Count);
        Assert.All(instances, i => Assert.Equal(InstanceState.Running, i.State));
    }

    [Fact]
    public async Task Consolidate_applied_moves_everything_onto_one_node_and_the_freed_nodes_end_empty()
    {
        var nodes = await SpreadOverThreeNodesAsync();

        var applied = (await _cluster.RebalanceAsync(new RebalanceRequest(DryRun: false, Consolidate: true), default)).Value!;

        Assert.True(applied.Applied);
        Assert.Equal(2, applied.NewInstances.Count);
        Assert.Empty(applied.Deferred!);
        var keptId = applied.Plan.Moves[0].ToNodeId;
        var all = await _store.ListInstancesAsync("web");
        Assert.All(applied.NewInstances, id => Assert.Equal(keptId, all.Single(i => i.Id == id).NodeId));

        // The old copies stop only once the new ones run on the kept node.
        await BeatAsync(keptId, state: InstanceState.Running);
        await _cluster.CompleteMovesAsync(default);

        var live = (await _store.ListInstancesAsync("web")).Where(i => !i.IsTerminal).ToList();
        Assert.Equal(3, live.Count);
        Assert.All(live, i => Assert.Equal(keptId, i.NodeId));
        foreach (var freed in nodes.Where(n => n != keptId))
            Assert.Empty((await BeatAsync(freed)).Assignments);
        Assert.Empty(await _cluster.MovesInFlightAsync());
        // Nothing left to free: a second consolidation proposes no move.
        var again = (await _cluster.RebalanceAsync(new RebalanceRequest(Consolidate: true), default)).Value!;
        Assert.Empty(again.Plan.Moves);
        Assert.Contains("nothing to free", again.Plan.Summary);
    }

    [Fact]
    public async Task Consolidate_within_a_budget_too_small_says_how_many_moves_it_needs()
    {
        await SpreadOverThreeNodesAsync();

        var plan = (await _cluster.RebalanceAsync(new RebalanceRequest(MaxMoves: 0, Consolidate: true), default)).Value!.Plan;

        Assert.Empty(plan.Moves);
        Assert.Empty(plan.FreedNodes!);
        Assert.Contains("raise the budget from 0", plan.Summary);
    }

    [Fact]
    public async Task A_move_that_needs_room_an_earlier_move_frees_is_deferred_and_started_by_the_next_rebalance()
    {
        // node-1 (4 GiB): p 2 GiB + q 1 GiB; node-2 (4 GiB): r 3 GiB; node-3 (2 GiB): s 2 GiB. Freeing node-3 takes
        // q to node-2, then s to node-1 into the room q leaves; q's old copy keeps that room until the new one runs.
        var n1 = await JoinAsync("node-1");
        Assert.Equal(201, (await _cluster.DeployAsync(Spec(name: "p", replicas: 1, memory: "2Gi"), default)).StatusCode);
        Assert.Equal(201, (await _cluster.DeployAsync(Spec(name: "q", replicas: 1, memory: "1Gi"), default)).StatusCode);
        var n2 = await JoinAsync("node-2", firstPort: 21000);
        Assert.Equal(201, (await _cluster.DeployAsync(Spec(name: "r", replicas: 1, memory: "3Gi"), default)).StatusCode);
        var n3 = await JoinAsync("node-3", memory: 2 * Gi, firstPort: 22000);
        Assert.Equal(201, (await _cluster.DeployAsync(Spec(name: "s", replicas: 1, memory: "2Gi"), default)).StatusCode);
        foreach (var node in new[] { n1, n2, n3 }) await BeatAsync(node, state: InstanceState.Running);
        var q = (await _store.ListInstancesAsync("q")).Single();
        var s = (await _store.ListInstancesAsync("s")).Single();
        Assert.Equal((n1, n3), (q.NodeId, s.NodeId));

        var first = (await _cluster.RebalanceAsync(new RebalanceRequest(DryRun: false, Consolidate: true), default)).Value!;

        Assert.Equal(["node-3"], first.Plan.FreedNodes);
        Assert.Equal([q.Id, s.Id], first.Plan.Moves.Select(m => m.InstanceId));
        var started = Assert.Single(first.NewInstances);
        Assert.Equal(n2, (await _store.ListInstancesAsync("q")).Single(i => i.Id == started).NodeId);
        Assert.Equal([s.Id], first.Deferred);
        Assert.Equal(n3, (await _store.ListInstancesAsync("s")).Single(i => !i.IsTerminal).NodeId);

        await BeatAsync(n2, state: InstanceState.Running);
        await _cluster.CompleteMovesAsync(default);
        var second = (await _cluster.RebalanceAsync(new RebalanceRequest(DryRun: false, Consolidate: true), default)).Value!;

        Assert.Equal(["node-3"], second.Plan.FreedNodes);
        Assert.Equal(s.Id, Assert.Single(second.Plan.Moves).InstanceId);
        Assert.Empty(second.Deferred!);
        Assert.Equal(n1, (await _store.ListInstancesAsync("s")).Single(i => i.Id == Assert.Single(second.NewInstances)).NodeId);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(101)]
    public async Task Consolidate_rejects_a_budget_out_of_range(int moves)
    {
        var outcome = await _cluster.RebalanceAsync(new RebalanceRequest(MaxMoves: moves, Consolidate: true), default);
        Assert.Equal(400, outcome.StatusCode);
        Assert.Contains("maxMoves must be from 0 to 100", outcome.Error!.Error);
    }
}
