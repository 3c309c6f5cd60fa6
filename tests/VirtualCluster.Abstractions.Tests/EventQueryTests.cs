namespace VirtualCluster.Abstractions.Tests;

public sealed class EventQueryTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-01-01T00:00:00Z");

    private static ClusterEvent E(long seq, string kind, string subject, string? service = null, string? node = null, string? instance = null, string? incident = null, double seconds = 0) =>
        new(seq, T0.AddSeconds(seconds), kind, subject, "m", service, node, instance, incident);

    [Fact]
    public void Kind_matches_exactly_or_by_family()
    {
        Assert.True(new EventQuery { Kind = "node" }.Matches(E(1, "node.down", "n1")));
        Assert.True(new EventQuery { Kind = "node.down" }.Matches(E(1, "node.down", "n1")));
        Assert.False(new EventQuery { Kind = "node.down" }.Matches(E(1, "node.downed", "n1")));
        Assert.False(new EventQuery { Kind = "nod" }.Matches(E(1, "node.down", "n1")));
    }

    [Fact]
    public void Node_matches_node_events_and_instances_on_it()
    {
        var query = new EventQuery { Node = "n1" };
        Assert.True(query.Matches(E(1, "node.down", "n1", node: "n1")));
        Assert.True(query.Matches(E(2, "node.down", "n1"))); // stored before events named their node
        Assert.True(query.Matches(E(3, "instance.running", "web", "web", "n1", "web-1")));
        Assert.False(query.Matches(E(4, "instance.running", "web", "web", "n2", "web-2")));
        Assert.False(query.Matches(E(5, "service.deployed", "n1")));
    }

    [Fact]
    public void Service_matches_its_events_and_older_ones_by_subject()
    {
        var query = new EventQuery { Service = "web" };
        Assert.True(query.Matches(E(1, "instance.placed", "web", "web")));
        Assert.True(query.Matches(E(2, "service.deployed", "web")));
        Assert.False(query.Matches(E(3, "node.down", "web", node: "web")));
        Assert.False(query.Matches(E(4, "instance.placed", "api", "api")));
    }

    [Fact]
    public void Since_and_incident_filter()
    {
        Assert.False(new EventQuery { Since = T0.AddSeconds(5) }.Matches(E(1, "x.y", "s", seconds: 4)));
        Assert.True(new EventQuery { Since = T0.AddSeconds(5) }.Matches(E(1, "x.y", "s", seconds: 5)));
        Assert.True(new EventQuery { Incident = "inc-1" }.Matches(E(1, "x.y", "s", incident: "inc-1")));
        Assert.False(new EventQuery { Incident = "inc-1" }.Matches(E(1, "x.y", "s")));
    }
}
