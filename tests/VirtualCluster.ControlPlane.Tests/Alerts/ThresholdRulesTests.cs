using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Alerts;
using VirtualCluster.ControlPlane.Cluster;

namespace VirtualCluster.ControlPlane.Tests.Alerts;

/// <summary>Threshold rules through <see cref="AlertRules"/> on a clock the test moves: durations, matching, NaN, restarts in a window.</summary>
public sealed class ThresholdRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);
    private readonly AlertRules _rules = new(new AlertOptions());
    private readonly ThresholdRules _thresholds = new();

    private static NodeHistorySample Node(string name, double cpu) => new(name, cpu, 0.5, 0.5, 0.1, 0.1, 1, 0.2);

    private List<string> Firing(IReadOnlyList<AlertRuleSpec> rules, IReadOnlyList<NodeHistorySample> nodes, IReadOnlyList<ServiceHistorySample> services, double seconds)
    {
        var now = T0.AddSeconds(seconds);
        return [.. _rules.Evaluate([], [], now, _thresholds.Holding(rules, nodes, services, now))
            .Select(a => $"{a.Name}:{a.Labels.GetValueOrDefault("node") ?? a.Labels["service"]}").Order()];
    }

    [Fact]
    public void A_node_over_its_threshold_fires_after_the_duration_only_where_it_matches()
    {
        AlertRuleSpec[] rules = [new("CpuHigh", "node", "cpu", ">", 0.9, TimeSpan.FromMinutes(5), Match: ["a", "b"])];
        NodeHistorySample[] hot = [Node("a", 0.95), Node("b", 0.5), Node("c", 0.99), Node("d", double.NaN)];
        Assert.Empty(Firing(rules, hot, [], 0));
        Assert.Empty(Firing(rules, hot, [], 299));
        Assert.Equal(["CpuHigh:a"], Firing(rules, hot, [], 300)); // c is hotter but not matched; d has no sample
        Assert.Empty(Firing(rules, [Node("a", 0.5)], [], 301));    // cleared: starts over
        Assert.Empty(Firing(rules, hot, [], 302));
        Assert.Equal(["CpuHigh:a"], Firing(rules, hot, [], 602));
    }

    [Fact]
    public void Service_rules_compare_missing_and_restarts_in_the_last_ten_minutes_and_disabled_rules_never_fire()
    {
        AlertRuleSpec[] rules =
        [
            new("Missing", "service", "missing", ">=", 1, TimeSpan.Zero, "critical"),
            new("Restarting", "service", "restarts_10m", ">=", 3, TimeSpan.Zero),
            new("Off", "service", "running", ">=", 0, TimeSpan.Zero, Enabled: false),
        ];
        Assert.Equal(["Missing:web"], Firing(rules, [], [new("web", 2, 1, 10), new("db", 1, 1, 0)], 0));
        Assert.Empty(Firing(rules, [], [new("web", 2, 2, 12)], 60));             // 2 restarts in the window
        Assert.Equal(["Restarting:web"], Firing(rules, [], [new("web", 2, 2, 13)], 120)); // 3 since the first sample
        Assert.Equal(["Restarting:web"], Firing(rules, [], [new("web", 2, 2, 13)], 600));
        Assert.Empty(Firing(rules, [], [new("web", 2, 2, 13)], 1300));            // the old counts left the window
    }

    [Theory]
    [InlineData(">", 1, 1, false)]
    [InlineData(">=", 1, 1, true)]
    [InlineData("<", 0.5, 1, true)]
    [InlineData("<=", 2, 1, false)]
    [InlineData("==", 1, 1, true)]
    [InlineData("!=", 1, 1, false)]
    [InlineData("!=", double.NaN, 1, false)]
    public void Operators_compare_and_nan_never_holds(string op, double value, double threshold, bool holds) =>
        Assert.Equal(holds, ThresholdRules.Holds(value, op, threshold));
}
