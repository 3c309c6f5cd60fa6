using CsCheck;
using static VirtualCluster.Scheduling.Tests.PipelineKit;

namespace VirtualCluster.Scheduling.Tests;

/// <summary><see cref="RebalancePlanner.Consolidate"/>: plans that free nodes, applicable one move at a time, within the budget.</summary>
public class ConsolidationTests
{
    /// <summary>Nodes as the instances leave them: each node's allocation is the sum of its instances plus <paramref name="other"/>.</summary>
    private static NodeCandidate[] Nodes(int count, IReadOnlyList<PlacedInstance> instances, Func<int, Resources>? other = null,
        Func<int, string>? zone = null) =>
    [
        .. Enumerable.Range(0, count).Select(i =>
        {
            var mine = instances.Where(x => x.NodeId == $"id-n{i}").ToList();
            var allocated = mine.Aggregate(other?.Invoke(i) ?? Resources.Zero, (sum, x) => sum + x.Spec.Resources);
            return Node($"n{i}", allocated: allocated, services: [.. mine.Select(x => x.Spec.Name)],
                labels: Labels($"zone={zone?.Invoke(i) ?? "a"}"));
        }),
    ];

    /// <summary>Replays the plan on a fresh state: every move feasible when made; returns the nodes in use after.</summary>
    private static int Replay(NodeCandidate[] nodes, IReadOnlyList<PlacedInstance> instances, RebalancePlan plan)
    {
        var state = ClusterState.From(nodes);
        var byId = instances.ToDictionary(i => i.InstanceId);
        Assert.Equal(plan.Moves.Count, plan.Moves.Select(m => m.InstanceId).Distinct().Count());
        foreach (var move in plan.Moves)
        {
            var instance = byId[move.InstanceId];
            Assert.Equal(instance.NodeId, move.FromNodeId);
            var source = state.IndexOf(move.FromNodeId);
            var target = state.IndexOf(move.ToNodeId);
            state.ReleaseResources(source, instance.Spec);
            Assert.True(PlacementPipeline.Default.IsFeasible(PlacementPipeline.Default.CreateContext(state, instance.Spec), target),
                $"{move.InstanceId} to {move.ToNode} is not feasible when its turn comes");
            state.ReserveResources(target, instance.Spec);
        }
        return BatchPlacer.NodesUsed(state);
    }

    [Fact]
    public void Half_empty_nodes_are_packed_onto_fewer_and_the_plan_applies_move_by_move()
    {
        var spec = Spec(cpu: 1500, memory: 3 * Gi);
        var instances = Enumerable.Range(0, 6).Select(i => new PlacedInstance($"web-{i}", spec, $"id-n{i}")).ToList();
        var nodes = Nodes(6, instances);
        var plan = RebalancePlanner.Consolidate(new PipelineScheduler(), nodes, instances, maxMoves: 10);
        Assert.Equal(3, Replay(nodes, instances, plan));  // two 1.5-CPU instances per 4-CPU node
        Assert.Equal(3, plan.Moves.Count);
        Assert.Contains("free 3 node(s)", plan.Summary);
    }

    [Fact]
    public void A_plan_that_needs_more_moves_than_the_budget_is_not_proposed()
    {
        var spec = Spec(cpu: 1500, memory: 3 * Gi);
        var instances = Enumerable.Range(0, 6).Select(i => new PlacedInstance($"web-{i}", spec, $"id-n{i}")).ToList();
        var plan = RebalancePlanner.Consolidate(new PipelineScheduler(), Nodes(6, instances), instances, maxMoves: 0);
        Assert.Empty(plan.Moves);
        Assert.Contains("raise the budget", plan.Summary);
    }

    [Fact]
    public void Nodes_with_unlisted_work_required_anti_affinity_and_constraints_are_respected()
    {
        var free = Spec(name: "free", cpu: 1000, memory: 2 * Gi);
        var apart = Spec(name: "apart", cpu: 1000, memory: 2 * Gi, anti: AntiAffinityMode.Required);
        var pinned = Spec(name: "pinned", cpu: 1000, memory: 2 * Gi, constraints: new() { ["zone"] = "b" });
        PlacedInstance[] instances =
        [
            new("f0", free, "id-n0"), new("a0", apart, "id-n1"), new("a1", apart, "id-n2"), new("p0", pinned, "id-n3"),
            new("f1", free, "id-n4"),
        ];
        // n0 also runs work the plan does not know of; n3 and n4 are the only zone-b nodes.
        var nodes = Nodes(5, instances, other: i => i == 0 ? new Resources(500, Gi, 0) : Resources.Zero, zone: i => i >= 3 ? "b" : "a");
        var plan = RebalancePlanner.Consolidate(new PipelineScheduler(), nodes, instances, maxMoves: 10);
        var after = Replay(nodes, instances, plan);
        Assert.True(after < 5, plan.Summary);
        Assert.DoesNotContain(plan.Moves, m => m.FromNodeId == "id-n0");
        Assert.DoesNotContain(plan.Moves, m => m.Service == "apart");
        Assert.All(plan.Moves.Where(m => m.Service == "pinned"), m => Assert.Equal("id-n4", m.ToNodeId));
    }

    [Fact]
    public void Plans_never_use_more_nodes_fit_the_budget_and_apply_move_by_move() =>
        Gen.Select(Gen.Int[2, 10], Gen.Int[0, 30], Gen.Int[0, 20], Gen.Int[0, 1000]).Sample((count, many, budget, seed) =>
        {
            var random = new Random(seed);
            var specs = Enumerable.Range(0, 4).Select(s => Spec(name: $"s{s}", cpu: random.Next(1, 30) * 100, memory: random.Next(1, 30) * 256 * Mi,
                anti: s == 3 ? AntiAffinityMode.Required : AntiAffinityMode.None, constraints: s == 2 ? new() { ["zone"] = "a" } : null)).ToArray();
            var load = new Resources[count];
            var instances = new List<PlacedInstance>();
            for (var k = 0; k < many; k++)
            {
                var spec = specs[random.Next(specs.Length)];
                var node = random.Next(count);
                var zoneOk = spec.Placement.Constraints.Count == 0 || node % 2 == 0;
                var apartOk = spec.Placement.AntiAffinity != AntiAffinityMode.Required || !instances.Any(x => x.Spec == spec && x.NodeId == $"id-n{node}");
                if (!zoneOk || !apartOk || !new Resources(4000, 8 * Gi, 100 * Gi).Fits(load[node] + spec.Resources)) continue;
                load[node] += spec.Resources;
                instances.Add(new PlacedInstance($"i{k}", spec, $"id-n{node}"));
            }
            var nodes = Nodes(count, instances, zone: i => i % 2 == 0 ? "a" : "b");
            var usedBefore = BatchPlacer.NodesUsed(ClusterState.From(nodes));
            var plan = RebalancePlanner.Consolidate(new PipelineScheduler(), nodes, instances, budget,
                new BatchOptions { ImprovementBudget = TimeSpan.FromMilliseconds(20), Seed = seed });
            Assert.True(plan.Moves.Count <= budget);
            var after = Replay(nodes, instances, plan);
            if (plan.Moves.Count > 0) Assert.True(after < usedBefore, $"{plan.Summary}: {after} in use after, {usedBefore} before");
            else Assert.Equal(usedBefore, after);
        }, iter: 300);
}
