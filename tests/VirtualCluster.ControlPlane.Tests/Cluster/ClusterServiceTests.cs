using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.ControlPlane.Store;
using VirtualCluster.FailureDetection;
using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Tests.Cluster;

/// <summary>The control plane's logic on a real SQLite file and virtual time.</summary>
public sealed class ClusterServiceTests : IDisposable
{
    private const long Gi = 1L << 30;
    private readonly string _dir = Directory.CreateTempSubdirectory("vc-cs-").FullName;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
    private readonly IOptions<ControlPlaneOptions> _options;
    private EmbeddedClusterState _state;
    private VirtualCluster.Store.IClusterStore _store => _state.Store;
    private ClusterService _cluster;

    public ClusterServiceTests()
    {
        _options = Options.Create(new ControlPlaneOptions { DataDirectory = _dir });
        (_state, _cluster) = Open();
    }

    private (EmbeddedClusterState, ClusterService) Open()
    {
        var state = EmbeddedClusterState.OpenAsync(_dir).GetAwaiter().GetResult();
        var cluster = new ClusterService(state.Store, new PipelineScheduler(), new NodeFailureDetector(_options.Value.FailureDetector, _time), _time, _options,
            NullLogger<ClusterService>.Instance);
        return (state, cluster);
    }

    private static string Spec(string name = "web", int replicas = 2, string memory = "1Gi") => $$"""
        { "name": "{{name}}", "command": "dotnet", "args": ["app.dll"], "replicas": {{replicas}},
          "resources": { "cpu": "500m", "memory": "{{memory}}" }, "ports": [ { "name": "http" } ] }
        """;

    private async Task<string> JoinAsync(string name, long memory = 4 * Gi, int firstPort = 20000)
    {
        var outcome = await _cluster.JoinAsync(new JoinRequest("token-checked-by-api", name, "127.0.0.1",
            new Resources(4000, memory, 100 * Gi), ["process"], new PortRange(firstPort, firstPort + 99), null), default);
        Assert.Equal(200, outcome.StatusCode);
        return outcome.Value!.Id;
    }

    private Task<AgentOutcome<HeartbeatResponse>> BeatAsync(string nodeId, params InstanceReport[] reports) =>
        _cluster.HeartbeatAsync(nodeId, new HeartbeatRequest(new ResourceUsage(100, Gi, Gi), default, ["process"], reports), default);

    [Fact]
    public async Task Deploy_places_every_replica_with_distinct_epochs_and_ports_and_the_agents_get_them()
    {
        var n1 = await JoinAsync("node-1");
        var n2 = await JoinAsync("node-2", firstPort: 21000);

        var outcome = await _cluster.DeployAsync(Spec(), default);

        Assert.Equal(201, outcome.StatusCode);
        var instances = outcome.Service!.Instances.Select(i => i.Instance).ToList();
        Assert.Equal(2, instances.Count);
        Assert.Equal(2, instances.Select(i => i.Epoch).Distinct().Count());
        Assert.All(instances, i => Assert.Equal(InstanceState.Pending, i.State));
        var assigned = (await BeatAsync(n1)).Value!.Assignments.Concat((await BeatAsync(n2)).Value!.Assignments).ToList();
        Assert.Equal(instances.Select(i => i.Id).Order(), assigned.Select(a => a.InstanceId).Order());
        Assert.All(outcome.Service.Instances, i => Assert.StartsWith("http://127.0.0.1:", Assert.Single(i.Urls)));
    }

    [Fact]
    public async Task Redeploying_the_same_spec_is_a_no_op_and_a_different_one_conflicts()
    {
        await JoinAsync("node-1", memory: 8 * Gi);
        Assert.Equal(201, (await _cluster.DeployAsync(Spec(), default)).StatusCode);
        Assert.Equal(200, (await _cluster.DeployAsync(Spec(), default)).StatusCode);
        var conflict = await _cluster.DeployAsync(Spec(replicas: 1), default);
        Assert.Equal(409, conflict.StatusCode);
        Assert.Contains("vcluster rm web", conflict.Error!.Error);
        Assert.Equal(2, (await _store.ListInstancesAsync("web")).Count);
    }

    [Fact]
    public async Task Invalid_spec_is_400_with_field_errors_and_stores_nothing()
    {
        var outcome = await _cluster.DeployAsync("""{ "name": "x", "replicas": "two", "bogus": 1 }""", default);
        Assert.Equal(400, outcome.StatusCode);
        Assert.Contains(outcome.Error!.Errors!, e => e.Field == "replicas");
        Assert.Contains(outcome.Error!.Errors!, e => e.Field.Contains("bogus"));
        Assert.Empty(await _store.ListServicesAsync());
    }

    [Fact]
    public async Task Deploy_that_does_not_fit_is_422_all_or_nothing()
    {
        await JoinAsync("node-1", memory: 3 * Gi);
        await JoinAsync("node-2", memory: 3 * Gi, firstPort: 21000);
        var outcome = await _cluster.DeployAsync(Spec(replicas: 3, memory: "2Gi"), default);
        Assert.Equal(422, outcome.StatusCode);
        Assert.Contains("memory", outcome.Error!.Error);
        Assert.NotNull(outcome.Error.Placement);
        Assert.Empty(await _store.ListServicesAsync());
        Assert.Empty(await _store.ListInstancesAsync());
    }

    [Fact]
    public async Task Reports_update_state_and_stale_epochs_are_ignored_and_not_assigned()
    {
        var n1 = await JoinAsync("node-1", memory: 8 * Gi);
        var instance = (await _cluster.DeployAsync(Spec(replicas: 1), default)).Service!.Instances[0].Instance;
        var stale = new InstanceReport(instance.Id, instance.Epoch - 1, InstanceState.Running, "", 0, 1, []);
        var answer = await BeatAsync(n1, stale);
        Assert.Equal(InstanceState.Pending, (await _store.ListInstancesAsync("web"))[0].State);

        var report = new InstanceReport(instance.Id, instance.Epoch, InstanceState.Running, "", 0, 4242,
            [new Runtime.LogLine(1, _time.GetUtcNow(), "stdout", "listening")]);
        answer = await BeatAsync(n1, report);
        var stored = (await _store.ListInstancesAsync("web"))[0];
        Assert.Equal(InstanceState.Running, stored.State);
        Assert.Equal(4242, stored.Pid);
        Assert.Equal(1, answer.Value!.LogCursors[instance.Id]);
        Assert.Equal("listening", (await _cluster.GetLogsAsync("web", 10, default))!.Lines.Single().Line.Text);
    }

    [Fact]
    public async Task A_silent_node_goes_down_and_its_instances_are_replaced_elsewhere()
    {
        var n1 = await JoinAsync("node-1", memory: 8 * Gi);
        var first = (await _cluster.DeployAsync(Spec(replicas: 1), default)).Service!.Instances[0].Instance;
        var n2 = await JoinAsync("node-2", memory: 8 * Gi, firstPort: 21000);
        Assert.Equal(n1, first.NodeId);

        for (var i = 0; i < 11; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await BeatAsync(n2);
            await _cluster.ReconcileOnceAsync(default);
        }

        var instances = await _store.ListInstancesAsync("web");
        var replacement = Assert.Single(instances);
        Assert.Equal(n2, replacement.NodeId);
        Assert.True(replacement.Epoch > first.Epoch);
        var events = await _store.ListEventsAsync(0, 100);
        Assert.Contains(events, e => e.Kind == "node.down" && e.Subject == "node-1");
        Assert.Contains(events, e => e.Kind == "instance.lost");
        // The old node comes back: its stale copy is not in its assignments, so its agent stops it.
        Assert.Empty((await BeatAsync(n1, new InstanceReport(first.Id, first.Epoch, InstanceState.Running, "", 0, 1, []))).Value!.Assignments);
    }

    [Fact]
    public async Task A_restarted_control_plane_keeps_services_and_does_not_touch_healthy_instances()
    {
        var n1 = await JoinAsync("node-1", memory: 8 * Gi);
        var instances = (await _cluster.DeployAsync(Spec(), default)).Service!.Instances.Select(i => i.Instance).ToList();
        _state.Dispose();

        (_state, _cluster) = Open();
        await _cluster.StartGracePeriodAsync(default);
        _time.Advance(TimeSpan.FromSeconds(2));
        await BeatAsync(n1);
        await _cluster.ReconcileOnceAsync(default);

        var after = await _store.ListInstancesAsync("web");
        Assert.Equal(instances.Select(i => (i.Id, i.Epoch)).Order(), after.Select(i => (i.Id, i.Epoch)).Order());
    }

    [Fact]
    public async Task Heartbeat_from_an_unknown_node_asks_it_to_join_again()
    {
        var outcome = await BeatAsync("node-nope");
        Assert.Equal(404, outcome.StatusCode);
        Assert.Contains("join again", outcome.Error!.Error);
    }

    [Fact]
    public async Task Join_validates_every_field()
    {
        var outcome = await _cluster.JoinAsync(new JoinRequest("t", "Bad Name", "", new Resources(0, 0, 0), [], new PortRange(5, 1), null), default);
        Assert.Equal(400, outcome.StatusCode);
        Assert.Equal(["address", "capacity", "drivers", "name", "ports"], outcome.Error!.Errors!.Select(e => e.Field).Order());
    }

    public void Dispose()
    {
        _state.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
