using static VirtualCluster.Scheduling.Tests.PipelineKit;

namespace VirtualCluster.Scheduling.Tests;

public class CapacityAndRebalanceTests
{
    [Fact]
    public void Fits_are_counted_with_every_filter_and_leave_the_state_alone()
    {
        var scheduler = new PipelineScheduler();
        var state = scheduler.CreateState([Node("a"), Node("b", memory: 2 * Gi)]);
        Assert.Equal(8 + 2, scheduler.CountFits(state, Spec(cpu: 100, memory: Gi), 100));
        Assert.Equal(2, scheduler.CountFits(state, Spec(cpu: 100, memory: Gi, anti: AntiAffinityMode.Required), 100));
        Assert.Equal(5, scheduler.CountFits(state, Spec(cpu: 100, memory: Gi), 5));
        Assert.Equal(Resources.Zero, state.Allocated(0));
    }

    [Fact]
    public void A_new_empty_node_takes_instances_from_the_loaded_ones_within_the_budget()
    {
        var spec = Spec(cpu: 1000, memory: 2 * Gi, anti: AntiAffinityMode.None);
        var nodes = new[]
        {
            Node("a", allocated: new Resources(3000, 6 * Gi, 0), services: ["web", "web", "web"]),
            Node("b", allocated: new Resources(3000, 6 * Gi, 0), services: ["web", "web", "web"]),
            Node("new"),
        };
        var instances = Enumerable.Range(0, 6).Select(i => new PlacedInstance($"web-{i}", spec, i < 3 ? "id-a" : "id-b")).ToList();
        var plan = RebalancePlanner.Plan(new PipelineScheduler(), nodes, instances, maxMoves: 5);
        Assert.Equal(2, plan.Moves.Count); // 2, 2, 2 is perfectly balanced
        Assert.All(plan.Moves, m => Assert.Equal("new", m.ToNode));
        Assert.Equal(["a", "b"], plan.Moves.Select(m => m.FromNode).Order());
        Assert.True(plan.ImbalanceAfter < plan.ImbalanceBefore);
        Assert.Equal(0, plan.ImbalanceAfter, 6);
        Assert.Single(RebalancePlanner.Plan(new PipelineScheduler(), nodes, instances, maxMoves: 1).Moves);
        Assert.Empty(RebalancePlanner.Plan(new PipelineScheduler(), nodes, instances, maxMoves: 0).Moves);
    }

    [Fact]
    public void Moves_respect_constraints_and_anti_affinity()
    {
        var pinned = Spec(name: "pinned", cpu: 1000, memory: 2 * Gi, constraints: new() { ["zone"] = "a" });
        var spread = Spec(name: "spread", cpu: 1000, memory: 2 * Gi, anti: AntiAffinityMode.Required);
        var nodes = new[]
        {
            Node("a", allocated: new Resources(3000, 6 * Gi, 0), labels: Labels("zone=a"), services: ["pinned", "pinned", "spread"]),
            Node("b", labels: Labels("zone=b"), allocated: new Resources(1000, 2 * Gi, 0), services: ["spread"]),
            Node("c", labels: Labels("zone=b")),
        };
        PlacedInstance[] instances = [new("p1", pinned, "id-a"), new("p2", pinned, "id-a"), new("s1", spread, "id-a"), new("s2", spread, "id-b")];
        var plan = RebalancePlanner.Plan(new PipelineScheduler(), nodes, instances, maxMoves: 10);
        Assert.All(plan.Moves, m => Assert.Equal("spread", m.Service));
        Assert.Equal("c", Assert.Single(plan.Moves).ToNode);
        Assert.Contains("1 move(s)", plan.Summary);
        var balanced = RebalancePlanner.Plan(new PipelineScheduler(), [Node("x"), Node("y")], [], 5);
        Assert.Empty(balanced.Moves);
        Assert.Contains("nothing to move", balanced.Summary);
    }
}
