using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.FailureDetection;
using VirtualCluster.ControlPlane.Store;
using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Tests.Cluster;

/// <summary>Explanations, capacity forecasts and rebalancing on a real SQLite store and virtual time.</summary>
public sealed partial class SchedulingTests : IDisposable
{
    private const long Gi = 1L << 30;
    private readonly string _dir = Directory.CreateTempSubdirectory("vc-sched-").FullName;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
    private readonly EmbeddedClusterState _state;
    private readonly VirtualCluster.Store.IClusterStore _store;
    private readonly ClusterService _cluster;

    public SchedulingTests()
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

    private static string Spec(string name = "web", int replicas = 2, string memory = "1Gi", string placement = "") => $$"""
        { "name": "{{name}}", "command": "dotnet", "replicas": {{replicas}},
          "resources": { "cpu": "500m", "memory": "{{memory}}" }, "ports": [ { "name": "http" } ] {{placement}} }
        """;

    private async Task<string> JoinAsync(string name, long memory = 4 * Gi, int firstPort = 20000)
    {
        var outcome = await _cluster.JoinAsync(new JoinRequest("checked-by-api", name, "127.0.0.1",
            new Resources(4000, memory, 100 * Gi), ["process"], new PortRange(firstPort, firstPort + 99), null), default);
        return outcome.Value!.Id;
    }

    private async Task<HeartbeatResponse> BeatAsync(string nodeId, long usedMemory = 0, InstanceState? state = null)
    {
        var mine = await _store.ListInstancesAsync(nodeId: nodeId);
        var reports = state is null ? [] : mine.Where(i => !i.IsTerminal).Select(i => new InstanceReport(i.Id, i.Epoch, state.Value, "", 0, 1, [])).ToList();
        var outcome = await _cluster.HeartbeatAsync(nodeId, new HeartbeatRequest(new ResourceUsage(100, usedMemory, 0), default, ["process"], reports), default);
        return outcome.Value!;
    }

    [Fact]
    public async Task Deploy_answers_carry_scores_and_explain_shows_them_per_instance()
    {
        await JoinAsync("node-1");
        await JoinAsync("node-2", firstPort: 21000);

        var deployed = await _cluster.DeployAsync(Spec(), default);

        Assert.Equal(201, deployed.StatusCode);
        Assert.All(deployed.Service!.Instances, i => Assert.Contains("most-allocated", i.Score!.Scorers.Keys));
        // Preferred anti-affinity (the default) puts the two replicas on different nodes.
        Assert.Equal(2, deployed.Service.Instances.Select(i => i.NodeName).Distinct().Count());

        var explanation = (await _cluster.ExplainAsync("web", default))!;
        Assert.Equal(2, explanation.Instances.Count);
        Assert.All(explanation.Instances, i =>
        {
            Assert.NotNull(i.ScoreAtPlacement);
            Assert.InRange(i.Current!.Total, 0, 100);
            Assert.Contains("anti-affinity", i.Current.Scorers.Keys);
        });
        Assert.Equal("binpack", explanation.NextInstance.Strategy);
        Assert.Equal(2, explanation.NextInstance.NodesFeasible);
        Assert.Null(await _cluster.ExplainAsync("nope", default));
    }

    [Fact]
    public async Task Explain_says_why_one_more_instance_would_not_fit()
    {
        await JoinAsync("node-1", memory: 2 * Gi);
        await JoinAsync("node-2", memory: 2 * Gi, firstPort: 21000);
        Assert.Equal(201, (await _cluster.DeployAsync(Spec(replicas: 2, memory: "1536Mi"), default)).StatusCode);

        var next = (await _cluster.ExplainAsync("web", default))!.NextInstance;

        Assert.Equal(0, next.NodesFeasible);
        Assert.Contains("memory exhausted on 2 of 2 nodes", next.Failure!.Message);
        Assert.Equal(2, next.Filters.Single(f => f.Filter == "resources").ByDimension["memory"]);
    }

    [Fact]
    public async Task Deploy_failure_names_the_filters_and_the_closest_fit()
    {
        await JoinAsync("node-1", memory: 2 * Gi);
        var outcome = await _cluster.DeployAsync(Spec(replicas: 1, memory: "3Gi", placement: """, "placement": {"constraints": {"zone": "eu"}}"""), default);
        Assert.Equal(422, outcome.StatusCode);
        Assert.Contains("constraint zone=eu on 1 of 1 node", outcome.Error!.Error);
        Assert.Equal(1, outcome.Error.Placement!.Filters!.Single(f => f.Filter == "constraints").Removed);
    }

    [Fact]
    public async Task Rebalance_dry_run_plans_and_apply_moves_once_the_new_instances_run()
    {
        var n1 = await JoinAsync("node-1");
        Assert.Equal(201, (await _cluster.DeployAsync(Spec(replicas: 4, memory: "512Mi", placement: """, "placement": {"antiAffinity": "none"}"""), default)).StatusCode);
        await BeatAsync(n1, state: InstanceState.Running);
        var n2 = await JoinAsync("node-2", firstPort: 21000);

        var dry = (await _cluster.RebalanceAsync(new RebalanceRequest(DryRun: true), default)).Value!;
        Assert.False(dry.Applied);
        Assert.Equal(2, dry.Plan.Moves.Count);
        Assert.All(dry.Plan.Moves, m => Assert.Equal("node-2", m.ToNode));
        Assert.Equal(4, (await _store.ListInstancesAsync("web")).Count);

        var applied = (await _cluster.RebalanceAsync(new RebalanceRequest(DryRun: false, MaxMoves: 1), default)).Value!;
        Assert.True(applied.Applied);
        var created = Assert.Single(applied.NewInstances);
        var moved = applied.Plan.Moves[0].InstanceId;
        Assert.Equal(n2, (await _store.ListInstancesAsync("web")).Single(i => i.Id == created).NodeId);

        // Not running yet: the old instance stays.
        await _cluster.CompleteMovesAsync(default);
        Assert.Equal(InstanceState.Running, (await _store.ListInstancesAsync("web")).Single(i => i.Id == moved).State);
        Assert.Contains(created, (await BeatAsync(n2)).Assignments.Select(a => a.InstanceId));

        await BeatAsync(n2, state: InstanceState.Running);
        await _cluster.CompleteMovesAsync(default);

        Assert.Equal(InstanceState.Stopped, (await _store.ListInstancesAsync("web")).Single(i => i.Id == moved).State);
        Assert.DoesNotContain(moved, (await BeatAsync(n1)).Assignments.Select(a => a.InstanceId));
        Assert.Empty(await _cluster.MovesInFlightAsync());
        // The reconciler sees four live replicas: nothing to replace.
        await _cluster.ReconcileOnceAsync(default);
        Assert.Equal(4, (await _store.ListInstancesAsync("web")).Count(i => !i.IsTerminal));
        Assert.Contains((await _store.ListEventsAsync(0, 100)), e => e.Kind == "instance.moved");
    }

    [Fact]
    public async Task A_control_plane_restarted_mid_move_finishes_the_move_from_the_store()
    {
        var n1 = await JoinAsync("node-1");
        await _cluster.DeployAsync(Spec(replicas: 2, memory: "512Mi", placement: """, "placement": {"antiAffinity": "none"}"""), default);
        await BeatAsync(n1, state: InstanceState.Running);
        var n2 = await JoinAsync("node-2", firstPort: 21000);
        var applied = (await _cluster.RebalanceAsync(new RebalanceRequest(DryRun: false, MaxMoves: 1), default)).Value!;
        var created = Assert.Single(applied.NewInstances);
        var moved = applied.Plan.Moves[0].InstanceId;

        // A new control plane on the same store: nothing in memory knows about the move.
        var options = Options.Create(new ControlPlaneOptions { DataDirectory = _dir });
        var restarted = new ClusterService(_store, new PipelineScheduler(), new NodeFailureDetector(options.Value.FailureDetector, _time), _time, options,
            NullLogger<ClusterService>.Instance);
        Assert.Equal(moved, (await restarted.MovesInFlightAsync())[created]);
        // A second rebalance does not move either side of a move in flight again.
        var again = (await restarted.RebalanceAsync(new RebalanceRequest(DryRun: true), default)).Value!;
        Assert.DoesNotContain(again.Plan.Moves, m => m.InstanceId == moved || m.InstanceId == created);

        var mine = await _store.ListInstancesAsync(nodeId: n2);
        await restarted.HeartbeatAsync(n2, new HeartbeatRequest(new ResourceUsage(100, 0, 0), default, ["process"],
            mine.Select(i => new InstanceReport(i.Id, i.Epoch, InstanceState.Running, "", 0, 1, [])).ToList()), default);
        await restarted.CompleteMovesAsync(default);

        var instances = await _store.ListInstancesAsync("web");
        Assert.Equal(InstanceState.Stopped, instances.Single(i => i.Id == moved).State);
        Assert.Equal(2, instances.Count(i => !i.IsTerminal));
        Assert.Empty(await restarted.MovesInFlightAsync());
    }

    [Fact]
    public async Task A_move_whose_new_instance_fails_is_cancelled_and_the_old_one_keeps_running()
    {
        var n1 = await JoinAsync("node-1");
        await _cluster.DeployAsync(Spec(replicas: 2, memory: "512Mi", placement: """, "placement": {"antiAffinity": "none"}"""), default);
        await BeatAsync(n1, state: InstanceState.Running);
        var n2 = await JoinAsync("node-2", firstPort: 21000);
        var applied = (await _cluster.RebalanceAsync(new RebalanceRequest(DryRun: false), default)).Value!;
        var created = Assert.Single(applied.NewInstances);

        await BeatAsync(n2, state: InstanceState.Failed);
        await _cluster.CompleteMovesAsync(default);

        var instances = await _store.ListInstancesAsync("web");
        Assert.Equal(InstanceState.Stopped, instances.Single(i => i.Id == created).State);
        Assert.Contains("rebalance cancelled", instances.Single(i => i.Id == created).Reason);
        Assert.Equal(2, instances.Count(i => i.State == InstanceState.Running));
        Assert.Empty(await _cluster.MovesInFlightAsync());
    }

    [Fact]
    public async Task Rebalance_rejects_a_budget_out_of_range()
    {
        var outcome = await _cluster.RebalanceAsync(new RebalanceRequest(MaxMoves: 101), default);
        Assert.Equal(400, outcome.StatusCode);
        Assert.Contains("maxMoves", outcome.Error!.Error);
    }

    [Fact]
    public async Task Capacity_forecasts_memory_from_heartbeats_and_counts_fits()
    {
        var n1 = await JoinAsync("node-1");
        await _cluster.DeployAsync(Spec(replicas: 1, memory: "512Mi"), default);
        await BeatAsync(n1, usedMemory: Gi);
        var early = await _cluster.GetCapacityAsync(default);
        Assert.All(early.Cluster.Concat(early.Nodes.Single().Resources), f =>
        {
            Assert.Equal(ForecastTrend.NotEnoughHistory, f.Trend);
            Assert.Null(f.ExhaustedAt);
        });
        // Measured memory grows by 256 MiB every 10 minutes from 1 GiB on a 4 GiB node, one heartbeat a minute.
        for (var k = 1; k <= 40; k++)
        {
            _time.Advance(TimeSpan.FromMinutes(1));
            await BeatAsync(n1, usedMemory: Gi + k * (256L << 20) / 10);
        }

        var capacity = await _cluster.GetCapacityAsync(default);

        var node = Assert.Single(capacity.Nodes);
        Assert.Equal(41, node.Samples);
        var memory = node.Resources.Single(r => r.Resource == "memory");
        Assert.Equal(ForecastTrend.Rising, memory.Trend);
        Assert.Equal(1536L << 20, memory.TrendPerHour, 0);
        Assert.Equal(2 * Gi, memory.Used);
        Assert.Equal(512L << 20, memory.Allocated);
        // 2 GiB at the last sample (t = 40 min), 2 GiB to go at 1.5 GiB/h: 80 minutes later.
        Assert.Equal(DateTimeOffset.Parse("2026-01-01T02:00:00Z"), memory.ExhaustedAt);
        var cluster = capacity.Cluster.Single(r => r.Resource == "memory");
        Assert.Equal((memory.Capacity, memory.Allocated, memory.Used, memory.ExhaustedAt), (cluster.Capacity, cluster.Allocated, cluster.Used, cluster.ExhaustedAt));
        // 2 GiB used of 4 (measured use beats the 512 Mi reserved): four more 512 Mi replicas fit; cpu would allow 7.
        Assert.Equal(new FitEstimate("web", 4, 200), Assert.Single(capacity.Fits));
        Assert.NotNull((await _cluster.GetStatusAsync(default)).Capacity);
    }
}
