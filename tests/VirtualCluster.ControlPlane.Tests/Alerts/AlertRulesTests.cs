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
    public void A_failover_that_gave_up_is_critical_one_retried_is_a_warning_and_a_single_replacement_is_normal()
    {
        AlertService[] services =
        [
            new("once", 1, 1, new FailoverRetryView(1, false, "once-1 failed (exit 1)")),
            new("again", 1, 0, new FailoverRetryView(2, false, "again-2 failed (exit 3)")),
            new("done", 1, 0, new FailoverRetryView(3, true, "done-3 failed (exit 3)")),
            new("calm", 1, 1),
        ];
        Assert.Equal(["FailoverFailed:done", "FailoverRetried:again"], Firing([], services, 0));
        var failed = _rules.Evaluate([], services, T0).Single(a => a.Name == "FailoverFailed");
        Assert.Equal("critical", failed.Labels["severity"]);
        Assert.Contains("done-3 failed (exit 3)", failed.Annotations["description"]);
        Assert.Empty(Firing([], [new("again", 1, 1), new("done", 1, 1)], 1)); // stable again: both resolve
    }

    [Fact]
    public void Capacity_fires_only_within_the_horizon()
    {
        AlertCapacity[] soon = [new("memory", T0.AddDays(3), 64L << 30, 40L << 30, 1e8)];
        AlertCapacity[] later = [new("memory", T0.AddDays(8), 64L << 30, 40L << 30, 1e8)];
        Assert.Empty(_rules.Evaluate([], [], T0, capacity: later)); // positive control below: the same rule fires within 7 days
        var alert = Assert.Single(_rules.Evaluate([], [], T0, capacity: soon));
        Assert.Equal("CapacityRunningOut", alert.Name);
        Assert.Equal("memory", alert.Labels["resource"]);
    }

    [Fact]
    public void Certificates_warn_inside_their_window_turn_critical_in_its_last_quarter_and_an_overdue_key_warns()
    {
        var window = TimeSpan.FromDays(30);
        AlertCredential Ca(double days) => new("certificate", "cluster-ca", T0.AddDays(days), window, "the cluster CA");
        Assert.Empty(_rules.Evaluate([], [], T0, credentials: [Ca(31)]));
        Assert.Equal("warning", Assert.Single(_rules.Evaluate([], [], T0, credentials: [Ca(20)])).Labels["severity"]);
        var critical = Assert.Single(_rules.Evaluate([], [], T0, credentials: [Ca(5)]));
        Assert.Equal(("CertificateExpiring", "critical", "cluster-ca"), (critical.Name, critical.Labels["severity"], critical.Labels["certificate"]));
        Assert.Contains("expires at", critical.Annotations["summary"]);
        Assert.Contains("expired at", Assert.Single(_rules.Evaluate([], [], T0, credentials: [Ca(-1)])).Annotations["summary"]);

        AlertCredential Key(double hours) => new("signing-key", "k1", T0.AddHours(hours), TimeSpan.Zero, "token signing key k1");
        Assert.Empty(_rules.Evaluate([], [], T0, credentials: [Key(1)]));
        Assert.Equal("SigningKeyRotationOverdue", Assert.Single(_rules.Evaluate([], [], T0, credentials: [Key(-1)])).Name);
    }

    [Fact]
    public void An_alert_carried_over_a_restart_keeps_its_start_instead_of_waiting_its_duration_again()
    {
        AlertNode[] suspect = [new("b", NodeState.Suspect, 4)];
        Assert.Empty(_rules.Evaluate(suspect, [], T0));
        var before = _rules.Evaluate(suspect, [], T0.AddSeconds(40)).Single(); // fired before the "restart", started at T0
        var restarted = new AlertRules(new AlertOptions { SuspectFor = TimeSpan.FromSeconds(30) });
        Assert.Empty(restarted.Evaluate(suspect, [], T0.AddSeconds(50))); // positive control: without carry-over it starts over
        var fresh = new AlertRules(new AlertOptions { SuspectFor = TimeSpan.FromSeconds(30) });
        var carried = fresh.Evaluate(suspect, [], T0.AddSeconds(50), carried: new Dictionary<string, DateTimeOffset> { [before.Fingerprint] = before.StartsAt });
        Assert.Equal(before.StartsAt, Assert.Single(carried).StartsAt);
    }

    [Fact]
    public void Options_are_validated_with_the_field_and_the_fix()
    {
        var result = new AlertOptionsValidator().Validate(null, new AlertOptions { EvaluationInterval = TimeSpan.Zero, SuspectFor = TimeSpan.FromDays(2),
            CapacityHorizon = TimeSpan.FromMinutes(5), CertificateExpiryWarning = TimeSpan.FromDays(400) });
        Assert.True(result.Failed);
        Assert.Contains("EvaluationInterval", result.FailureMessage);
        Assert.Contains("CapacityHorizon", result.FailureMessage);
        Assert.Contains("CertificateExpiryWarning", result.FailureMessage);
        Assert.Contains("SuspectFor", result.FailureMessage);
        Assert.True(new AlertOptionsValidator().Validate(null, new AlertOptions()).Succeeded);
    }
}
