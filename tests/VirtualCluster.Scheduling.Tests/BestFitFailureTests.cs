using static VirtualCluster.Scheduling.Tests.SchedulingKit;

namespace VirtualCluster.Scheduling.Tests;

public class BestFitFailureTests
{
    [Fact]
    public void ExplainsMemoryShortage()
    {
        var result = Place(Spec(name: "big", memory: 8 * Gi), 2,
            Node("node-1", memory: 4 * Gi, allocated: new Resources(0, 2 * Gi, 0)),
            Node("node-2", memory: 4 * Gi, allocated: new Resources(0, Gi / 2, 0)),
            Node("node-3", memory: 2 * Gi));

        Assert.False(result.Succeeded);
        Assert.Empty(result.Placements);
        var failure = result.Failure!;
        Assert.Equal(
            "cannot place 2 instance(s) of \"big\": memory: needs 8 GiB, largest free 3.5 GiB on node-2; 3 of 3 nodes lack memory",
            failure.Message);
        Assert.Equal(3, failure.NodesConsidered);
        Assert.Equal(new ResourceShortfall("memory", 8 * Gi, 7 * Gi / 2, "node-2", 3), Assert.Single(failure.Shortfalls));
    }

    [Fact]
    public void IsAllOrNothing()
    {
        var result = Place(Spec(name: "pair", cpu: 3000), 2, Node("node-1", cpu: 5000), Node("node-2", state: NodeState.Down));

        Assert.False(result.Succeeded);
        Assert.Empty(result.Placements);
        Assert.Equal(
            "cannot place 2 instance(s) of \"pair\": only 1 of 2 instances fit; state: 1 of 2 nodes are not alive (node-2 is down); " +
            "cpu: needs 3 cores, largest free 2 cores on node-1; 1 of 2 nodes lack cpu",
            result.Failure!.Message);
    }

    [Fact]
    public void PartialFitCountsInstancesThatFit()
    {
        var result = Place(Spec(ports: 1), 5, Node("a", ports: new PortRange(20000, 20002)));
        var failure = result.Failure!;
        Assert.StartsWith("cannot place 5 instance(s) of \"web\": only 3 of 5 instances fit; ports: needs 1 port, largest free 0 ports on a",
            failure.Message, StringComparison.Ordinal);
        Assert.Equal(new ResourceShortfall("ports", 1, 0, "a", 1), Assert.Single(failure.Shortfalls));
    }

    [Fact]
    public void LargestFreeIsAmongNodesThatPassedTheOtherFilters()
    {
        var failure = Place(Spec(memory: 8 * Gi), 1,
            Node("huge-but-down", memory: 64 * Gi, state: NodeState.Down),
            Node("small", memory: 2 * Gi)).Failure!;
        var memory = failure.Shortfalls.Single(s => s.Resource == "memory");
        Assert.Equal("small", memory.LargestFreeNode);
        Assert.Equal(1, memory.NodesLacking);
    }

    [Fact]
    public void OvercommittedNodesReportZeroFree()
    {
        var failure = Place(Spec(cpu: 100), 1, Node("a", cpu: 1000, allocated: new Resources(1500, 0, 0))).Failure!;
        Assert.Equal(new ResourceShortfall("cpu", 100, 0, "a", 1), Assert.Single(failure.Shortfalls));
    }
}
