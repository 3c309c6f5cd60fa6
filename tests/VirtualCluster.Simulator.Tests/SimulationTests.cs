using VirtualCluster.Simulator.Engine;
using VirtualCluster.Simulator.Scenarios;

namespace VirtualCluster.Simulator.Tests;

/// <summary>
/// The CI scenario (100 nodes, about 2,500 instances, 2 hours of virtual time with crashes, pauses, partitions and
/// failing instances) run on the real control plane: every invariant holds, and the same seed gives the same bytes.
/// The invariants are shown to catch what they claim by positive controls on small scenarios.
/// </summary>
public sealed class SimulationTests
{
    private static SimulationSettings Load(string json, int? seed = null)
    {
        var (settings, errors) = ScenarioLoader.Load(json, seed);
        Assert.True(settings is not null, string.Join("; ", errors));
        return settings!;
    }

    private static string CiScenario => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Scenarios", "ci-small.json"));

    private static (SimulationReport Report, string Log) Run(SimulationSettings settings, Func<SimulationSettings, TextWriter, Simulation>? create = null)
    {
        using var log = new StringWriter();
        var simulation = create?.Invoke(settings, log) ?? new Simulation(settings, log);
        var report = simulation.Run();
        return (report, log.ToString());
    }

    [Fact]
    public void The_ci_scenario_holds_every_invariant_and_the_same_seed_gives_the_same_event_log()
    {
        var settings = Load(CiScenario);

        var (first, firstLog) = Run(settings);
        var (second, secondLog) = Run(settings);

        var broken = first.Invariants.Where(i => !i.Held).Select(i => $"{i.Name}: {string.Join(" | ", i.Violations.Take(3).Select(v => v.Detail))}");
        Assert.True(first.AllHeld, string.Join("\n", broken));
        Assert.All(first.Invariants, i => Assert.True(i.Checks > 0, $"{i.Name} was never checked"));
        Assert.Equal(first.Hash, second.Hash);
        Assert.Equal(firstLog, secondLog);
        Assert.Equal(first.LogLines, firstLog.Count(c => c == '\n'));
        // The run did what the scenario asks: faults hit, nodes went down, replacements were placed and ran.
        Assert.True(first.Faults.Count >= 8, $"{first.Faults.Count} faults");
        Assert.Contains(first.Faults, f => f.Kind == FaultKind.Crash);
        Assert.Contains(first.Faults, f => f.Kind == FaultKind.Partition);
        Assert.Contains(first.Failovers, f => f.Placed > 0 && f.Running > 0);
        Assert.True(first.EventKinds.GetValueOrDefault("instance.placed") > 10, "replacements placed");
        Assert.True(first.EventKinds.GetValueOrDefault("sim.exit") > 10, "instance failures injected");
        Assert.True(first.PeakInstances >= 2_000, $"peak {first.PeakInstances} instances");
        var last = first.Samples[^1];
        Assert.Equal(last.Desired, last.Placed);
        Assert.Contains("sim.crash node-007", firstLog, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_seed_gives_another_event_log()
    {
        var scenario = """
            { "duration": "20m", "heartbeatInterval": "2s", "sampleInterval": "5m", "nodes": [ { "count": 6 } ],
              "services": [ { "count": 3, "spec": { "name": "web", "command": "app", "replicas": 4, "resources": { "cpu": "500m", "memory": "1Gi" } } } ],
              "faults": { "crashesPerHour": 6, "downtimeMin": "1m", "downtimeMax": "3m" } }
            """;

        var (a, logA) = Run(Load(scenario, seed: 1));
        var (b, logB) = Run(Load(scenario, seed: 2));
        var (a2, _) = Run(Load(scenario, seed: 1));

        Assert.True(a.AllHeld && b.AllHeld);
        Assert.NotEqual(a.Hash, b.Hash);
        Assert.NotEqual(logA, logB);
        Assert.Equal(a.Hash, a2.Hash);
    }

    // Two nodes and a singleton: whichever node holds it is cut off for 5 minutes, so it moves to the other.
    private const string SingletonScenario = """
        { "duration": "50m", "heartbeatInterval": "1s", "sampleInterval": "5m", "nodes": [ { "count": 2 } ],
          "services": [ { "spec": { "name": "db", "command": "app", "replicas": 1, "resources": { "cpu": "1", "memory": "1Gi" } } } ],
          "faults": { "schedule": [
            { "at": "10m", "kind": "partition", "nodes": ["node-000"], "for": "5m" },
            { "at": "30m", "kind": "partition", "nodes": ["node-001"], "for": "5m" } ] } }
        """;

    [Fact]
    public void A_singleton_moves_when_its_node_is_cut_off_and_never_runs_twice()
    {
        var (report, log) = Run(Load(SingletonScenario));

        Assert.True(report.AllHeld, string.Join("\n", report.Invariants.SelectMany(i => i.Violations).Select(v => v.Detail)));
        Assert.Contains("sim.fenced", log, StringComparison.Ordinal);
        Assert.Contains(report.Failovers, f => f.Placed == 1 && f.Running == 1);
    }

    [Fact]
    public void Positive_control_an_agent_that_ignores_its_fencing_lease_is_caught_running_a_singleton_twice()
    {
        var (report, _) = Run(Load(SingletonScenario), (s, log) => new Simulation(s, log) { AgentsIgnoreFencing = true });

        var singleton = Assert.Single(report.Invariants, i => i.Name == "singleton-once");
        Assert.False(singleton.Held);
        Assert.Contains("db runs 2 copies", singleton.Violations[0].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Positive_control_a_record_deleted_behind_the_control_plane_is_caught_as_a_lost_write()
    {
        var settings = Load("""
            { "duration": "30m", "sampleInterval": "5m", "nodes": [ { "count": 3 } ],
              "services": [ { "spec": { "name": "web", "command": "app", "replicas": 3 } } ] }
            """);

        var (report, _) = Run(settings, (s, log) =>
        {
            var simulation = new Simulation(s, log);
            simulation.Tamper(TimeSpan.FromMinutes(12), kv => kv.Forget(kv.KeysUnder("cluster/instances/web/")[0]));
            return simulation;
        });

        var lost = Assert.Single(report.Invariants, i => i.Name == "no-write-lost");
        Assert.False(lost.Held);
        Assert.Contains("the store holds 2 instances, memory 3", lost.Violations[0].Detail, StringComparison.Ordinal);
        Assert.True(report.Invariants.Where(i => i.Name != "no-write-lost").All(i => i.Held));
    }
}
