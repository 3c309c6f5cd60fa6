using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.ControlPlane.Store;
using VirtualCluster.FailureDetection;
using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Tests.Cluster;

/// <summary>
/// Capacity forecasts through real heartbeats on virtual time: the cluster row is the sum of the node rows, a node
/// joining or leaving is a step, not a trend, and nothing is forecast in the first minutes.
/// </summary>
public sealed class CapacityHistoryTests : IDisposable
{
    private const long Gi = 1L << 30;
    private readonly string _dir = Directory.CreateTempSubdirectory("vc-caphist-").FullName;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
    private readonly EmbeddedClusterState _state;
    private readonly VirtualCluster.Store.IClusterStore _store;
    private readonly ClusterService _cluster;

    public CapacityHistoryTests()
    {
        var options = Options.Create(new ControlPlaneOptions { DataDirectory = _dir, UtilizationSampleInterval = TimeSpan.FromSeconds(10) });
        _state = EmbeddedClusterState.OpenAsync(_dir).GetAwaiter().GetResult();
        _store = _state.Store;
        _cluster = new ClusterService(_store, new PipelineScheduler(), new NodeFailureDetector(options.Value.FailureDetector, _time), _time, options,
            NullLogger<ClusterService>.Instance);
    }

    public void Dispose()
    {
        _state.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private async Task<string> JoinAsync(string name, int firstPort) =>
        (await _cluster.JoinAsync(new JoinRequest("checked-by-api", name, "127.0.0.1", new Resources(2000, 8 * Gi, 100 * Gi), ["process"],
            new PortRange(firstPort, firstPort + 99), null), default)).Value!.Id;

    private async Task BeatAsync(string nodeId, long memory) =>
        Assert.Equal(200, (await _cluster.HeartbeatAsync(nodeId, new HeartbeatRequest(new ResourceUsage(250, memory, 10 * Gi),
            new Resources(2000, 8 * Gi, 100 * Gi), ["process"], []), default)).StatusCode);

    /// <summary>Every node beats every 10 s for <paramref name="minutes"/>; memory per node from (node index, sample index).</summary>
    private async Task RunAsync(IReadOnlyList<string> nodes, int minutes, Func<int, int, long> memory)
    {
        for (var i = 0; i < minutes * 6; i++)
        {
            for (var n = 0; n < nodes.Count; n++) await BeatAsync(nodes[n], memory(n, i));
            _time.Advance(TimeSpan.FromSeconds(10));
        }
    }

    private static void AssertClusterIsTheSumOfItsNodes(CapacityReport report)
    {
        foreach (var cluster in report.Cluster)
        {
            var rows = report.Nodes.Select(n => n.Resources.Single(r => r.Resource == cluster.Resource)).ToList();
            Assert.Equal(rows.Sum(r => r.Capacity), cluster.Capacity);
            Assert.Equal(rows.Sum(r => r.Allocated), cluster.Allocated);
            Assert.Equal(rows.Sum(r => r.Used), cluster.Used);
        }
    }

    private static long Wobble(int i) => (i * 7919 % 13 - 6) * (16L << 20); // ±96 MiB, deterministic

    [Fact]
    public async Task A_node_joining_late_adds_capacity_and_use_without_a_run_out_time()
    {
        var a = await JoinAsync("node-a", 20000);
        var b = await JoinAsync("node-b", 21000);
        await RunAsync([a, b], 3, (_, i) => 2 * Gi + Wobble(i));
        var early = await _cluster.GetCapacityAsync(default);
        Assert.All(early.Cluster, f => Assert.Equal(ForecastTrend.NotEnoughHistory, f.Trend));
        Assert.Equal(TimeSpan.FromSeconds(7 * 60 + 10), early.Cluster.Single(f => f.Resource == "memory").MoreHistoryNeeded);
        AssertClusterIsTheSumOfItsNodes(early);

        await RunAsync([a, b], 27, (_, i) => 2 * Gi + Wobble(i));
        var c = await JoinAsync("node-c", 22000);
        await RunAsync([a, b, c], 2, (n, i) => (n == 2 ? 6 * Gi : 2 * Gi) + Wobble(i));

        var report = await _cluster.GetCapacityAsync(default);

        Assert.Equal(3, report.Nodes.Count);
        AssertClusterIsTheSumOfItsNodes(report);
        var memory = report.Cluster.Single(f => f.Resource == "memory");
        Assert.Equal(24 * Gi, memory.Capacity);
        Assert.Equal(ForecastTrend.NoClearTrend, memory.Trend);
        Assert.All(report.Cluster.Concat(report.Nodes.SelectMany(n => n.Resources)), f => Assert.Null(f.ExhaustedAt));
        Assert.Equal(ForecastTrend.NotEnoughHistory, report.Nodes.Single(n => n.NodeName == "node-c").Resources.Single(f => f.Resource == "memory").Trend);
    }

    [Fact]
    public async Task A_node_leaving_drops_out_of_the_sums_and_a_leak_still_shows()
    {
        var a = await JoinAsync("node-a", 20000);
        var b = await JoinAsync("node-b", 21000);
        // node-a leaks 4 GiB an hour from 1 GiB; node-b is flat.
        await RunAsync([a, b], 30, (n, i) => n == 0 ? Gi + i * 4 * Gi / 360 : 5 * Gi + Wobble(i));
        Assert.Equal(200, (await _cluster.LeaveAsync(b, default)).StatusCode);
        await RunAsync([a], 1, (_, i) => Gi + (180 + i) * 4 * Gi / 360);

        var report = await _cluster.GetCapacityAsync(default);

        var node = Assert.Single(report.Nodes);
        Assert.Equal("node-a", node.NodeName);
        AssertClusterIsTheSumOfItsNodes(report);
        var memory = report.Cluster.Single(f => f.Resource == "memory");
        Assert.Equal(8 * Gi, memory.Capacity);
        Assert.Equal(ForecastTrend.Rising, memory.Trend);
        Assert.Equal(4.0 * Gi, memory.TrendPerHour, 0);
        Assert.NotNull(memory.ExhaustedAt);
        Assert.All(report.Cluster.Where(f => f.Resource != "memory"), f => Assert.Null(f.ExhaustedAt));

        // The alert rules see the same forecast: memory runs out within the default week, so CapacityRunningOut fires.
        var facts = Assert.Single(_cluster.CapacityFacts());
        Assert.Equal(("memory", memory.ExhaustedAt), (facts.Resource, (DateTimeOffset?)facts.ExhaustedAt));
        var alert = Assert.Single(new VirtualCluster.ControlPlane.Alerts.AlertRules(new()).Evaluate([], [], _time.GetUtcNow(), capacity: [facts]));
        Assert.Equal(("CapacityRunningOut", "memory"), (alert.Name, alert.Labels["resource"]));
    }

    [Fact]
    public async Task A_flat_cluster_gives_the_alert_rules_nothing_to_forecast()
    {
        var a = await JoinAsync("node-a", 20000);
        await RunAsync([a], 30, (_, i) => 5 * Gi + Wobble(i));
        Assert.Empty(_cluster.CapacityFacts()); // the leak above, with the same clock and history, is the positive control
    }
}
