using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.ControlPlane.Store;
using VirtualCluster.FailureDetection;
using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Tests.Failover;

/// <summary>A control plane on a real SQLite file, the real detector and virtual time, with agents simulated by calls.</summary>
public abstract class ClusterTestBase : IDisposable
{
    protected const long Gi = 1L << 30;
    protected static readonly TimeSpan Beat = TimeSpan.FromMilliseconds(500);
    private readonly string _dir = Directory.CreateTempSubdirectory("vc-failover-").FullName;

    protected ClusterTestBase(Action<ControlPlaneOptions>? configure = null)
    {
        Options = new ControlPlaneOptions { DataDirectory = _dir };
        configure?.Invoke(Options);
        State = EmbeddedClusterState.OpenAsync(_dir).GetAwaiter().GetResult();
        Store = State.Store;
        Detector = new NodeFailureDetector(Options.FailureDetector, Time);
        Cluster = new ClusterService(Store, new PipelineScheduler(), Detector, Time, Microsoft.Extensions.Options.Options.Create(Options),
            NullLogger<ClusterService>.Instance);
    }

    protected FakeTimeProvider Time { get; } = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
    protected ControlPlaneOptions Options { get; }
    protected EmbeddedClusterState State { get; }
    protected VirtualCluster.Store.IClusterStore Store { get; }
    protected NodeFailureDetector Detector { get; }
    protected ClusterService Cluster { get; }

    protected static string Spec(string name = "web", int replicas = 2, string memory = "1Gi", string extra = "") => $$"""
        { "name": "{{name}}", "command": "dotnet", "args": ["app.dll"], "replicas": {{replicas}},
          "resources": { "cpu": "500m", "memory": "{{memory}}" }, "ports": [ { "name": "http" } ] {{extra}} }
        """;

    protected async Task<string> JoinAsync(string name, long memory = 4 * Gi, int firstPort = 20000)
    {
        var outcome = await Cluster.JoinAsync(new JoinRequest("checked-by-api", name, "127.0.0.1",
            new Resources(4000, memory, 100 * Gi), ["process"], new PortRange(firstPort, firstPort + 99), null), default);
        Assert.Equal(200, outcome.StatusCode);
        return outcome.Value!.Id;
    }

    protected async Task<IReadOnlyList<ServiceInstance>> DeployAsync(string spec)
    {
        var outcome = await Cluster.DeployAsync(spec, default);
        Assert.True(outcome.StatusCode == 201, outcome.Error?.Error);
        return outcome.Service!.Instances.Select(i => i.Instance).ToList();
    }

    protected Task<AgentOutcome<HeartbeatResponse>> BeatAsync(string nodeId, IReadOnlyList<InstanceReport>? reports = null, IReadOnlyList<AgentEvent>? events = null) =>
        Cluster.HeartbeatAsync(nodeId, new HeartbeatRequest(new ResourceUsage(100, Gi, Gi), default, ["process"], reports ?? [], events), default);

    /// <summary>A heartbeat reporting every instance assigned to the node in <paramref name="state"/> (as an agent would after starting them).</summary>
    protected async Task<HeartbeatResponse> ReportAsync(string nodeId, InstanceState state = InstanceState.Running, string reason = "")
    {
        var assigned = (await Store.ListInstancesAsync(nodeId: nodeId)).Where(i => !i.IsTerminal);
        var outcome = await BeatAsync(nodeId, assigned.Select(i => new InstanceReport(i.Id, i.Epoch, state, reason, 0, 100, [])).ToList());
        Assert.Equal(200, outcome.StatusCode);
        return outcome.Value!;
    }

    /// <summary>Advances virtual time in heartbeat steps; the listed nodes report everything as running each step, then a reconcile pass runs.</summary>
    protected async Task RunAsync(TimeSpan duration, params string[] beating)
    {
        for (var elapsed = TimeSpan.Zero; elapsed < duration; elapsed += Beat)
        {
            Time.Advance(Beat);
            foreach (var node in beating) await ReportAsync(node);
            await Cluster.ReconcileOnceAsync(default);
        }
    }

    /// <summary>Steps time by 100 ms (the failure check interval) until <paramref name="condition"/> holds; returns the time it took.</summary>
    protected async Task<TimeSpan> UntilAsync(Func<Task<bool>> condition, TimeSpan limit, params string[] beating)
    {
        var start = Time.GetUtcNow();
        var nextBeat = start + Beat;
        while (Time.GetUtcNow() - start <= limit)
        {
            if (Cluster.NeedsReconcile()) await Cluster.ReconcileOnceAsync(default);
            if (await condition()) return Time.GetUtcNow() - start;
            Time.Advance(TimeSpan.FromMilliseconds(100));
            if (Time.GetUtcNow() >= nextBeat)
            {
                foreach (var node in beating) await ReportAsync(node);
                nextBeat += Beat;
            }
        }
        throw new Xunit.Sdk.XunitException($"condition not met within {limit}");
    }

    protected async Task<List<ClusterEvent>> EventsAsync(EventQuery? query = null) =>
        (await Store.QueryEventsAsync(query ?? new EventQuery { Limit = EventQuery.MaxLimit })).ToList();

    protected async Task<ServiceView> ViewAsync(string service = "web") => (await Cluster.GetServiceViewAsync(service, default))!;

    public void Dispose()
    {
        State.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
        GC.SuppressFinalize(this);
    }
}
