using static VirtualCluster.Scheduling.Tests.SchedulingKit;

namespace VirtualCluster.Scheduling.Tests;

public class BestFitFilterTests
{
    [Fact]
    public void IsNamedBestFit() => Assert.Equal("best-fit", new BestFitScheduler().Name);

    [Theory]
    [InlineData(NodeState.Suspect)]
    [InlineData(NodeState.Down)]
    [InlineData(NodeState.Left)]
    public void SkipsNodesThatAreNotAlive(NodeState state)
    {
        var result = Place(Spec(), 1, Node("a", state: state), Node("b"));
        Assert.Equal("id-b", Assert.Single(result.Placements).NodeId);

        var failure = Place(Spec(), 1, Node("a", state: state)).Failure!;
        var shortfall = Assert.Single(failure.Shortfalls);
        Assert.Equal(new ResourceShortfall("state", 0, 0, null, 1), shortfall);
        Assert.Contains($"state: 1 of 1 nodes are not alive (a is {state.ToString().ToLowerInvariant()})", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SkipsNodesWithoutTheDriver()
    {
        var spec = Spec(driver: "docker");
        var result = Place(spec, 1, Node("a"), Node("b", drivers: ["process", "docker"]));
        Assert.Equal("id-b", Assert.Single(result.Placements).NodeId);

        var failure = Place(spec, 1, Node("a")).Failure!;
        Assert.Equal("driver", Assert.Single(failure.Shortfalls).Resource);
        Assert.Contains("driver: 1 of 1 nodes cannot run driver \"docker\" (a)", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RequiresEveryConstraintLabel()
    {
        var spec = Spec(constraints: new() { ["zone"] = "eu", ["disk"] = "ssd" });
        var result = Place(spec, 1,
            Node("a", labels: new() { ["zone"] = "eu" }),
            Node("b", labels: new() { ["zone"] = "us", ["disk"] = "ssd" }),
            Node("c", labels: new() { ["zone"] = "eu", ["disk"] = "ssd", ["extra"] = "x" }));
        Assert.Equal("id-c", Assert.Single(result.Placements).NodeId);

        var failure = Place(spec, 1, Node("a", labels: new() { ["zone"] = "eu" })).Failure!;
        Assert.Equal(new ResourceShortfall("constraint", 0, 0, null, 1), Assert.Single(failure.Shortfalls));
        Assert.Contains("constraint: 1 of 1 nodes do not have the labels disk=ssd, zone=eu (a)", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConstraintsAreCaseSensitive() =>
        Assert.False(Place(Spec(constraints: new() { ["zone"] = "eu" }), 1, Node("a", labels: new() { ["zone"] = "EU" })).Succeeded);

    [Fact]
    public void FiltersRunInOrderAndCountEachNodeOnce()
    {
        var spec = Spec(driver: "docker", constraints: new() { ["zone"] = "eu" });
        var failure = Place(spec, 1,
            Node("down", state: NodeState.Down),
            Node("nodocker", state: NodeState.Alive),
            Node("wrongzone", drivers: ["docker"])).Failure!;

        Assert.Equal(["state", "driver", "constraint"], failure.Shortfalls.Select(s => s.Resource));
        Assert.All(failure.Shortfalls, s => Assert.Equal(1, s.NodesLacking));
        Assert.Equal(3, failure.NodesConsidered);
    }

    [Fact]
    public void NeedsFreeCpu()
    {
        var failure = Place(Spec(cpu: 2000), 1,
            Node("a", cpu: 4000, allocated: new Resources(2500, 0, 0)),
            Node("b", cpu: 1000)).Failure!;
        Assert.Equal(new ResourceShortfall("cpu", 2000, 1500, "a", 2), Assert.Single(failure.Shortfalls));
        Assert.Equal("cannot place 1 instance(s) of \"web\": cpu: needs 2 cores, largest free 1.5 cores on a; 2 of 2 nodes lack cpu", failure.Message);
    }

    [Fact]
    public void FreeCpuExactlyEqualToTheRequestFits() =>
        Assert.True(Place(Spec(cpu: 2000), 1, Node("a", cpu: 4000, allocated: new Resources(2000, 0, 0))).Succeeded);

    [Fact]
    public void NeedsFreeMemory()
    {
        var failure = Place(Spec(memory: 2 * Gi), 1, Node("a", memory: 1 * Gi)).Failure!;
        Assert.Equal(new ResourceShortfall("memory", 2 * Gi, 1 * Gi, "a", 1), Assert.Single(failure.Shortfalls));
    }

    [Fact]
    public void NeedsFreeDisk()
    {
        var failure = Place(Spec(disk: 10 * Gi), 1, Node("a", disk: 5 * Gi)).Failure!;
        Assert.Equal(new ResourceShortfall("disk", 10 * Gi, 5 * Gi, "a", 1), Assert.Single(failure.Shortfalls));
        Assert.Contains("disk: needs 10 GiB, largest free 5 GiB on a; 1 of 1 nodes lack disk", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NeedsAFreePortPerNamedPort()
    {
        var spec = Spec(ports: 2);
        var tight = Node("a", ports: new PortRange(20000, 20002), usedPorts: [20001, 20002, 30000]);
        var failure = Place(spec, 1, tight).Failure!;
        Assert.Equal(new ResourceShortfall("ports", 2, 1, "a", 1), Assert.Single(failure.Shortfalls));
        Assert.Contains("ports: needs 2 ports, largest free 1 port on a; 1 of 1 nodes lack free ports", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASpecWithoutPortsNeedsNoPortRange() =>
        Assert.True(Place(Spec(ports: 0), 1, Node("a", ports: default(PortRange))).Succeeded);

    [Fact]
    public void ReportsEveryShortResourceOfTheRemainingNodes()
    {
        var failure = Place(Spec(cpu: 8000, memory: 16 * Gi), 1, Node("a"), Node("b", state: NodeState.Down)).Failure!;
        Assert.Equal(["state", "cpu", "memory"], failure.Shortfalls.Select(s => s.Resource));
        Assert.Equal(
            "cannot place 1 instance(s) of \"web\": state: 1 of 2 nodes are not alive (b is down); " +
            "cpu: needs 8 cores, largest free 4 cores on a; 1 of 2 nodes lack cpu; " +
            "memory: needs 16 GiB, largest free 8 GiB on a; 1 of 2 nodes lack memory",
            failure.Message);
    }

    [Fact]
    public void ExplainsAnEmptyCluster()
    {
        var failure = Place(Spec(), 1).Failure!;
        Assert.Equal(0, failure.NodesConsidered);
        Assert.Empty(failure.Shortfalls);
        Assert.Contains("no nodes have joined the cluster", failure.Message, StringComparison.Ordinal);
        Assert.Contains("join token", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ZeroInstancesIsAnEmptySuccess() => Assert.True(Place(Spec(), 0).Succeeded);

    [Fact]
    public void NegativeCountIsAProgrammingError() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Place(Spec(), -1, Node("a")));
}
