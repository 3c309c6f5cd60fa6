using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.ControlPlane.Store;
using VirtualCluster.FailureDetection;
using VirtualCluster.Runtime;
using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Tests.Store;

// Temporary: writes the pre-migration fixture with the SQLite cluster store of this release.
public sealed class MakeFixtureTests
{
    [Fact]
    public async Task Make()
    {
        var dir = Environment.GetEnvironmentVariable("VC_MAKE_FIXTURE");
        if (dir is null) return;
        Directory.CreateDirectory(dir);
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-01T10:00:00Z"));
        var options = new ControlPlaneOptions { DataDirectory = dir };
        using var store = new SqliteClusterStore(Path.Combine(dir, "cluster.db"));
        await ClusterCredentials.LoadOrCreateAsync(store, dir, time);
        var detector = new NodeFailureDetector(options.FailureDetector, time);
        var cluster = new ClusterService(store, new PipelineScheduler(), detector, time, Microsoft.Extensions.Options.Options.Create(options), NullLogger<ClusterService>.Instance);
        const long Gi = 1L << 30;
        var ids = new List<string>();
        foreach (var name in new[] { "alpha", "beta", "gamma" })
        {
            var joined = await cluster.JoinAsync(new JoinRequest("t", name, "127.0.0.1", new Resources(4000, 8 * Gi, 100 * Gi), ["process"], new PortRange(20000, 20099),
                new Dictionary<string, string> { ["zone"] = name == "gamma" ? "b" : "a" }), default);
            ids.Add(joined.Value!.Id);
        }
        foreach (var spec in new[]
        {
            """{ "name": "web", "command": "dotnet", "args": ["web.dll"], "replicas": 3, "resources": { "cpu": "500m", "memory": "1Gi" }, "ports": [ { "name": "http" } ] }""",
            """{ "name": "db", "command": "postgres", "replicas": 1, "resources": { "cpu": "1", "memory": "2Gi" }, "ports": [ { "name": "pg" } ], "env": { "PGDATA": "/data" } }""",
        })
        {
            var outcome = await cluster.DeployAsync(spec, default);
            Assert.True(outcome.StatusCode == 201, outcome.Error?.Error);
        }
        foreach (var id in ids)
        {
            time.Advance(TimeSpan.FromMilliseconds(500));
            var assigned = await store.ListInstancesAsync(nodeId: id);
            await cluster.HeartbeatAsync(id, new HeartbeatRequest(new ResourceUsage(300, 2 * Gi, 5 * Gi), default, ["process"],
                assigned.Select(i => new InstanceReport(i.Id, i.Epoch, InstanceState.Running, "", 0, 1000 + (int)i.Epoch,
                    [new LogLine(1, time.GetUtcNow(), "stdout", $"hello from {i.Id}"), new LogLine(2, time.GetUtcNow(), "stderr", "ünïcode ✓")])).ToList(), null), default);
        }
        await cluster.ReconcileOnceAsync(default);
        var dump = new
        {
            Nodes = await store.ListNodesAsync(),
            Services = await store.ListServicesAsync(),
            Instances = await store.ListInstancesAsync(),
            Events = await store.ListEventsAsync(0, 10_000),
            Logs = (await store.ListInstancesAsync()).ToDictionary(i => i.Id, i => store.ReadLogsAsync(i.Id, 0, 100).GetAwaiter().GetResult()),
            Settings = new Dictionary<string, string?>
            {
                ["signing-key"] = await store.GetSettingAsync("signing-key"),
                ["admin-token"] = await store.GetSettingAsync("admin-token"),
                ["join-token"] = await store.GetSettingAsync("join-token"),
            },
            LastEpoch = (await store.ListInstancesAsync()).Max(i => i.Epoch),
        };
        await File.WriteAllTextAsync(Path.Combine(dir, "expected.json"), JsonSerializer.Serialize(dump, new JsonSerializerOptions(VirtualClusterJson.Options) { WriteIndented = true }));
    }
}
