using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Alerts;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.ControlPlane.Store;
using VirtualCluster.FailureDetection;
using VirtualCluster.Monitoring.Alerts;
using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Tests.Alerts;

/// <summary>
/// Alerts kept in the cluster store: after a restart of the control plane, <c>GET /v1/alerts</c> still lists what
/// fired and resolved, a carried alert is not notified again, and it resolves once its node is judged again.
/// Real embedded store, real heartbeats, a fake clock.
/// </summary>
public sealed class AlertHistoryTests : IDisposable
{
    private const long Gi = 1L << 30;
    private readonly string _dir = Directory.CreateTempSubdirectory("vc-alerthist-").FullName;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
    private readonly List<IDisposable> _open = [];

    public void Dispose()
    {
        foreach (var d in _open) d.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private async Task<(ClusterService Cluster, AlertEvaluator Alerts, VirtualCluster.Store.IClusterStore Store)> StartAsync()
    {
        var options = Options.Create(new ControlPlaneOptions { DataDirectory = _dir });
        var state = await EmbeddedClusterState.OpenAsync(_dir);
        _open.Add(state);
        var cluster = new ClusterService(state.Store, new PipelineScheduler(), new NodeFailureDetector(options.Value.FailureDetector, _time), _time, options,
            NullLogger<ClusterService>.Instance);
        var notifier = new AlertNotifier(Options.Create(new AlertNotifierOptions()), _time, NullLogger<AlertNotifier>.Instance);
        _open.Add(notifier);
        var alerts = new AlertEvaluator(cluster, notifier, new AlertRuleSet(cluster, _time), Options.Create(new AlertOptions()), _time,
            NullLogger<AlertEvaluator>.Instance, new ServiceCollection().BuildServiceProvider());
        _open.Add(alerts);
        return (cluster, alerts, state.Store);
    }

    private static async Task<string> JoinAsync(ClusterService cluster, string name, int firstPort) =>
        (await cluster.JoinAsync(new JoinRequest("checked-by-api", name, "127.0.0.1", new Resources(2000, 8 * Gi, 100 * Gi), ["process"],
            new PortRange(firstPort, firstPort + 99), null), default)).Value!.Id;

    private static async Task BeatAsync(ClusterService cluster, string nodeId) =>
        Assert.Equal(200, (await cluster.HeartbeatAsync(nodeId, new HeartbeatRequest(new ResourceUsage(250, 2 * Gi, 10 * Gi),
            new Resources(2000, 8 * Gi, 100 * Gi), ["process"], []), default)).StatusCode);

    /// <summary>The given nodes beat every 500 ms for <paramref name="seconds"/>, with an evaluation every 5 s.</summary>
    private async Task RunAsync(ClusterService cluster, AlertEvaluator alerts, IReadOnlyList<string> beating, double seconds)
    {
        for (var t = 0.0; t < seconds; t += 0.5)
        {
            foreach (var node in beating) await BeatAsync(cluster, node);
            _time.Advance(TimeSpan.FromMilliseconds(500));
            if (Math.Abs(t % 5) < 0.01) await alerts.EvaluateAsync(default);
        }
        await alerts.EvaluateAsync(default);
    }

    private static List<string> Names(IEnumerable<Alert> alerts) => [.. alerts.Select(a => $"{a.Name}:{a.Labels.GetValueOrDefault("node")}").Order()];

    [Fact]
    public async Task Firing_and_resolved_alerts_survive_a_restart_and_a_carried_one_resolves_when_its_node_returns()
    {
        var (cluster, alerts, store) = await StartAsync();
        var a = await JoinAsync(cluster, "a", 20000);
        var b = await JoinAsync(cluster, "b", 20100);
        var c = await JoinAsync(cluster, "c", 20200);
        await RunAsync(cluster, alerts, [a, b, c], 5);
        await RunAsync(cluster, alerts, [a], 30); // b and c fall silent: both down
        Assert.Equal(["NodeDown:b", "NodeDown:c"], Names(alerts.View().Firing));
        await RunAsync(cluster, alerts, [a, c], 5); // c returns: its alert resolves
        Assert.Equal(["NodeDown:b"], Names(alerts.View().Firing));
        Assert.Equal(["NodeDown:c"], Names(alerts.View().Resolved));
        var firingEvents = (await store.QueryEventsAsync(new EventQuery { Kind = EventKinds.AlertFiring }, default)).Count;
        var startedAt = alerts.View().Firing.Single().StartsAt;

        // Restart: a new control plane on the same data directory.
        foreach (var d in _open) d.Dispose();
        _open.Clear();
        (cluster, alerts, store) = await StartAsync();
        await RunAsync(cluster, alerts, [a, c], 10); // b has not been heard from this term: not judged, its alert is kept
        Assert.Equal(["NodeDown:b"], Names(alerts.View().Firing));
        Assert.Equal(startedAt, alerts.View().Firing.Single().StartsAt);
        Assert.Equal(["NodeDown:c"], Names(alerts.View().Resolved));
        Assert.Equal(firingEvents, (await store.QueryEventsAsync(new EventQuery { Kind = EventKinds.AlertFiring }, default)).Count); // not notified again

        await RunAsync(cluster, alerts, [a, b, c], 5); // b returns: the carried alert resolves (the positive control)
        Assert.Empty(alerts.View().Firing);
        Assert.Equal(["NodeDown:b", "NodeDown:c"], Names(alerts.View().Resolved));
    }
}
