using static VirtualCluster.Scheduling.Tests.SchedulingKit;

namespace VirtualCluster.Scheduling.Tests;

public class BestFitScoringTests
{
    [Theory]
    // capacity cpu/memory, allocated cpu/memory, request cpu/memory → score
    [InlineData(4000, 8, 1000, 2, 1000, 2, 50.0)]
    [InlineData(2000, 4, 0, 0, 1000, 1, 37.5)]
    [InlineData(1000, 1, 0, 0, 1000, 1, 100.0)]
    [InlineData(8000, 16, 0, 0, 100, 0, 0.625)]
    public void ScoresTheMeanCpuAndMemoryShareAfterPlacement(long cpu, long memoryGi, long usedCpu, long usedGi, long needCpu, long needGi, double score)
    {
        var node = Node("a", cpu: cpu, memory: memoryGi * Gi, allocated: new Resources(usedCpu, usedGi * Gi, 0));
        var placement = Assert.Single(Place(Spec(cpu: needCpu, memory: needGi * Gi), 1, node).Placements);
        Assert.Equal(score, placement.Score, 9);
    }

    [Fact]
    public void DiskDoesNotCountTowardsTheScore()
    {
        var node = Node("a", cpu: 2000, memory: 4 * Gi, disk: 10 * Gi, allocated: new Resources(0, 0, 9 * Gi));
        Assert.Equal(37.5, Assert.Single(Place(Spec(cpu: 1000, memory: 1 * Gi, disk: 1 * Gi), 1, node).Placements).Score, 9);
    }

    [Fact]
    public void PrefersTheFullestNode()
    {
        // Shares after placing 100m/64Mi: empty 1.6, half 51.6, small 8.1 (small is the smallest node, not the fullest).
        var result = Place(Spec(), 1,
            Node("empty"),
            Node("half", allocated: new Resources(2000, 4 * Gi, 0)),
            Node("small", cpu: 1000, memory: 1 * Gi));
        Assert.Equal("id-half", Assert.Single(result.Placements).NodeId);
    }

    [Fact]
    public void BreaksTiesByNodeNameWhateverTheInputOrder()
    {
        NodeCandidate[] nodes = [Node("node-c"), Node("node-a"), Node("node-b")];
        foreach (var order in Permutations(nodes))
        {
            Assert.Equal("id-node-a", Assert.Single(Place(Spec(), 1, order).Placements).NodeId);
        }
    }

    [Fact]
    public void TiesAreOrdinalNotCultural() =>
        Assert.Equal("id-Zed", Assert.Single(Place(Spec(), 1, Node("alpha"), Node("Zed")).Placements).NodeId);

    [Fact]
    public void InstancesOfOneRequestSeeEachOther()
    {
        // Best fit keeps filling "a" until it is full, then moves on.
        var result = Place(Spec(cpu: 1000, memory: 1 * Gi), 3, Node("a", cpu: 2000, memory: 2 * Gi), Node("b", cpu: 4000, memory: 4 * Gi));
        Assert.Equal(["id-a", "id-a", "id-b"], result.Placements.Select(p => p.NodeId));
        Assert.Equal([50.0, 100.0, 25.0], result.Placements.Select(p => p.Score));
    }

    [Fact]
    public void AssignsTheLowestFreePortsAndNeverReusesOne()
    {
        var node = Node("a", ports: new PortRange(20000, 20009), usedPorts: [20000, 20002]);
        var result = Place(Spec(ports: 2), 3, node);

        Assert.Equal(
            [(20001, 20003), (20004, 20005), (20006, 20007)],
            result.Placements.Select(p => (p.Ports["http"], p.Ports["p1"])));
    }

    [Fact]
    public void PortsAreAssignedPerNode()
    {
        var result = Place(Spec(cpu: 3000), 2, Node("a"), Node("b"));
        Assert.Equal(["id-a", "id-b"], result.Placements.Select(p => p.NodeId));
        Assert.All(result.Placements, p => Assert.Equal(20000, p.Ports["http"]));
    }

    [Fact]
    public void DoesNotMutateTheRequest()
    {
        var node = Node("a", usedPorts: [20000]);
        var request = new PlacementRequest(Spec(), 2, [node]);
        var first = new BestFitScheduler().Place(request);
        var second = new BestFitScheduler().Place(request);

        Assert.Equal([20000], node.UsedPorts);
        Assert.Equal(default, node.Allocated);
        Assert.Equal(first.Placements.Select(p => (p.NodeId, p.Ports["http"], p.Score)), second.Placements.Select(p => (p.NodeId, p.Ports["http"], p.Score)));
    }

    private static IEnumerable<NodeCandidate[]> Permutations(NodeCandidate[] items) =>
        items.Length <= 1
            ? [items]
            : items.SelectMany((item, i) => Permutations([.. items.Take(i), .. items.Skip(i + 1)]).Select(rest => (NodeCandidate[])[item, .. rest]));
}
