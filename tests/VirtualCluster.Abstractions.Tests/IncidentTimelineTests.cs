namespace VirtualCluster.Abstractions.Tests;

public sealed class IncidentTimelineTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-01-01T00:00:00Z");

    private static ClusterEvent E(long seq, double seconds, string kind, string? instance = null, string? incident = "inc-1", string? node = null) =>
        new(seq, T0.AddSeconds(seconds), kind, "web", kind, "web", node, instance, incident);

    [Fact]
    public void A_node_failure_gives_detected_placed_started_healthy_per_replacement()
    {
        var events = new[]
        {
            new ClusterEvent(1, T0, EventKinds.NodeDown, "node-1", "node-1 is down", Node: "node-1", Incident: "inc-1"),
            E(2, 0.1, EventKinds.InstanceLost, "web-a"),
            E(3, 0.2, EventKinds.InstancePlaced, "web-b", node: "node-2"),
            E(5, 1.0, EventKinds.InstanceStarting, "web-b"),
            E(6, 2.5, EventKinds.InstanceRunning, "web-b"),
            E(4, 0.3, EventKinds.InstancePlaced, "api-b", node: "node-3"),
            E(7, 3.0, EventKinds.InstanceRunning, "api-b"),
            E(8, 9.0, EventKinds.InstanceRunning, "other", incident: null),
        };

        var incident = Assert.Single(IncidentTimeline.Build(events.Reverse()));

        Assert.Equal("inc-1", incident.Id);
        Assert.Equal(EventKinds.NodeDown, incident.Cause);
        Assert.Equal("node-1", incident.Subject);
        Assert.Equal(T0, incident.DetectedAt);
        Assert.Equal(2, incident.Recoveries.Count);
        var web = incident.Recoveries[0];
        Assert.Equal(("web-b", "node-2"), (web.Instance, web.Node));
        Assert.Equal([T0.AddSeconds(0.2), T0.AddSeconds(1.0), T0.AddSeconds(2.5)], new[] { web.PlacedAt, web.StartedAt!.Value, web.HealthyAt!.Value });
        var api = incident.Recoveries[1];
        Assert.Equal(T0.AddSeconds(3), api.StartedAt); // reported running at once: started = healthy
        Assert.Equal(T0.AddSeconds(3), incident.RecoveredAt);
    }

    [Fact]
    public void An_incident_is_not_recovered_while_a_replacement_is_not_healthy()
    {
        var incident = Assert.Single(IncidentTimeline.Build([E(1, 0, EventKinds.InstanceFailed, "web-a"), E(2, 1, EventKinds.InstancePlaced, "web-b")]));
        Assert.Null(incident.RecoveredAt);
        Assert.Null(incident.Recoveries[0].StartedAt);
    }
}
