using VirtualCluster.ControlPlane.Alerts;
using VirtualCluster.ControlPlane.Cluster;

namespace VirtualCluster.ControlPlane.Tests.Alerts;

/// <summary>The built-in rules on a clock the test moves: what fires, when, and that a condition that clears starts over.</summary>
public sealed class AlertRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);
    private readonly AlertRules _rules = new(new AlertOptions { SuspectFor = TimeSpan.FromSeconds(30), DegradedFor = TimeSpan.FromSeconds(60) });

    private List<string> Firing(IReadOnlyList<AlertNode> nodes, IReadOnlyList<AlertService> services, double seconds) =>
        [.. _rules.Evaluate(nodes, services, T0.AddSeconds(seconds)).Select(a => $"{a.Name}:{a.Labels.GetValueOrDefault("node") ?? a.Labels["service"]}").Order()];

    [Fact]
    public void A_down_node_fires_at_once_a_suspect_one_after_its_duration_and_healthy_ones_never()
    {
        AlertNode[] nodes = [new("a", NodeState.Alive, 0.1), new("b", NodeState.Suspect, 4), new("c", NodeState.Down, 12)];
        Assert.Equal(["NodeDown:c"], Firing(nodes, [], 0));
        Assert.Equal(["NodeDown:c"], Firing(nodes, [], 29.9));
        Assert.Equal(["NodeDown:c", "NodeSuspect:b"], Firing(nodes, [], 30));
        var alert = _rules.Evaluate(nodes, [], T0.AddSeconds(31)).Single(a => a.Name == "NodeSuspect");
        Assert.Equal(T0, alert.StartsAt); // since the condition began, not since it fired
        Assert.Equal("warning", alert.Labels["severity"]);
    }

    [Fact]
    public void A_degraded_service_fires_after_its_duration_and_a_condition_that_clears_starts_over()
    {
        AlertService[] degraded = [new("web", Desired: 3, Running: 1), new("db", Desired: 1, Running: 1)];
        Assert.Empty(Firing([], degraded, 0));
        Assert.Equal(["ServiceDegraded:web"], Firing([], degraded, 60));

        Assert.Empty(Firing([], [new("web", 3, 3)], 61)); // recovered: no alert, and the clock for it is reset
        Assert.Empty(Firing([], degraded, 62));
        Assert.Empty(Firing([], degraded, 121.9));
        Assert.Equal(["ServiceDegraded:web"], Firing([], degraded, 122));
    }

    [Fact]
    public void Options_are_validated_with_the_field_and_the_fix()
    {
        var result = new AlertOptionsValidator().Validate(null, new AlertOptions { EvaluationInterval = TimeSpan.Zero, SuspectFor = TimeSpan.FromDays(2) });
        Assert.True(result.Failed);
        Assert.Contains("EvaluationInterval", result.FailureMessage);
        Assert.Contains("SuspectFor", result.FailureMessage);
        Assert.True(new AlertOptionsValidator().Validate(null, new AlertOptions()).Succeeded);
    }
}
