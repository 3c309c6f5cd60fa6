using VirtualCluster.Simulator.Scenarios;

namespace VirtualCluster.Simulator.Tests;

public sealed class ScenarioLoaderTests
{
    private const string Minimal = """
        { "duration": "1h", "nodes": [ { "count": 3 } ],
          "services": [ { "count": 2, "spec": { "name": "web", "command": "app", "replicas": 2 } } ] }
        """;

    [Fact]
    public void A_minimal_scenario_loads_with_the_defaults()
    {
        var (settings, errors) = ScenarioLoader.Load(Minimal);

        Assert.Empty(errors);
        Assert.Equal(TimeSpan.FromHours(1), settings!.Duration);
        Assert.Equal(["node-000", "node-001", "node-002"], settings.Nodes.Select(n => n.Name));
        Assert.Equal(["web-1", "web-2"], settings.Services.Select(s => s.Spec.Name));
        Assert.Equal(1, settings.Seed);
        Assert.Equal(42, ScenarioLoader.Load(Minimal, seed: 42).Settings!.Seed);
    }

    [Fact]
    public void The_shipped_scenarios_load()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Scenarios"), "*.json"))
        {
            var (settings, errors) = ScenarioLoader.Load(File.ReadAllText(file));
            Assert.True(settings is not null, $"{Path.GetFileName(file)}: {string.Join("; ", errors)}");
        }
    }

    [Theory]
    [InlineData("""{ "nodes": [ { "count": 3 } ], "services": [ { "spec": { "name": "a", "command": "x" } } ] }""", "duration:")]
    [InlineData("""{ "duration": "forever", "nodes": [ { "count": 3 } ], "services": [ { "spec": { "name": "a", "command": "x" } } ] }""", "duration: a duration such as")]
    [InlineData("""{ "duration": "1h", "services": [ { "spec": { "name": "a", "command": "x" } } ] }""", "nodes: list at least one group")]
    [InlineData("""{ "duration": "1h", "nodes": [ { "count": 0 } ], "services": [ { "spec": { "name": "a", "command": "x" } } ] }""", "nodes[0].count:")]
    [InlineData("""{ "duration": "1h", "nodes": [ { "count": 2, "memory": "lots" } ], "services": [ { "spec": { "name": "a", "command": "x" } } ] }""", "nodes[0].memory:")]
    [InlineData("""{ "duration": "1h", "nodes": [ { "count": 2 } ], "services": [ { "spec": { "name": "a", "command": "x", "replicas": 0 } } ] }""", "services[0].spec.replicas")]
    [InlineData("""{ "duration": "1h", "nodes": [ { "count": 2 } ], "services": [ { "spec": 5 } ] }""", "services[0].spec: a service spec object")]
    [InlineData("""{ "duration": "1h", "nodes": [ { "count": 2 } ], "services": [ { "spec": { "name": "a", "command": "x" } }, { "spec": { "name": "a", "command": "x" } } ] }""", "services[1].spec.name")]
    [InlineData("""{ "duration": "1h", "nodes": [ { "count": 2 } ], "services": [ { "spec": { "name": "a", "command": "x" } } ], "faults": { "crashesPerHour": -1 } }""", "faults.crashesPerHour")]
    [InlineData("""{ "duration": "1h", "nodes": [ { "count": 2 } ], "services": [ { "spec": { "name": "a", "command": "x" } } ], "faults": { "schedule": [ { "at": "1m", "kind": "melt", "nodes": ["node-9"] } ] } }""", "faults.schedule[0].kind")]
    [InlineData("""{ "duration": "1h", "nodes": [ { "count": 2 } ], "services": [ { "spec": { "name": "a", "command": "x" } } ], "faults": { "schedule": [ { "at": "1m", "kind": "crash", "nodes": ["node-9"] } ] } }""", "no node is named \"node-9\"")]
    [InlineData("""{ "duration": "1h", "nodes": [ { "count": 2 } ], "services": [ { "spec": { "name": "a", "command": "x" } } ], "colour": "red" }""", "colour")]
    [InlineData("""{ "duration": "1h", "nodes": [ { "count": "many" } ] """, "not valid JSON")]
    [InlineData("""{ "duration": "1h", "heartbeatInterval": "1ms", "nodes": [ { "count": 2 } ], "services": [ { "spec": { "name": "a", "command": "x" } } ] }""", "heartbeatInterval:")]
    public void A_bad_scenario_is_refused_with_the_field_named(string json, string expected)
    {
        var (settings, errors) = ScenarioLoader.Load(json);

        Assert.Null(settings);
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }
}
