using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Tests.Failover;

/// <summary>Heartbeats stay in the control plane's memory: only changes of a node and periodic snapshots reach the store.</summary>
public sealed class HeartbeatStorageTests : ClusterTestBase
{
    [Fact]
    public async Task Heartbeats_are_kept_in_memory_and_written_only_as_periodic_snapshots()
    {
        var n1 = await JoinAsync("node-1");
        var joinedAt = Time.GetUtcNow();

        await RunAsync(TimeSpan.FromSeconds(10), n1); // 20 heartbeats

        // The store still has the join's record; the control plane's views have the newest heartbeat.
        Assert.Equal(joinedAt, (await Store.FindNodeAsync(n1))!.LastHeartbeat);
        var view = Assert.Single(await Cluster.ListNodeViewsAsync(default));
        Assert.Equal(Time.GetUtcNow(), view.Node.LastHeartbeat);
        Assert.Equal(Gi, view.Node.Usage.MemoryBytes);

        // After the snapshot interval (30 s by default) one heartbeat is written as a snapshot.
        await RunAsync(Options.NodeSnapshotInterval, n1);
        Assert.True((await Store.FindNodeAsync(n1))!.LastHeartbeat >= joinedAt + Options.NodeSnapshotInterval);
    }

    [Fact]
    public async Task A_change_of_capacity_or_state_is_written_at_once()
    {
        var n1 = await JoinAsync("node-1");
        await RunAsync(TimeSpan.FromSeconds(2), n1);

        var outcome = await Cluster.HeartbeatAsync(n1, new HeartbeatRequest(new ResourceUsage(100, Gi, Gi), new Resources(8000, 16 * Gi, 100 * Gi), ["process"], [], null), default);
        Assert.Equal(200, outcome.StatusCode);
        Assert.Equal(8000, (await Store.FindNodeAsync(n1))!.Capacity.CpuMillicores);

        Assert.InRange((await Cluster.DrainAsync("node-1", null, default)).StatusCode, 200, 299);
        Assert.Equal(NodeState.Draining, (await Store.FindNodeAsync(n1))!.State);
        await RunAsync(TimeSpan.FromSeconds(2), n1); // heartbeats of a draining node keep it draining
        Assert.Equal(NodeState.Draining, (await Store.FindNodeAsync(n1))!.State);
    }

    [Fact]
    public void The_snapshot_interval_is_validated()
    {
        var options = new ControlPlaneOptions { DataDirectory = "/tmp/x", NodeSnapshotInterval = TimeSpan.FromMilliseconds(10) };
        var result = new ControlPlaneOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains("NodeSnapshotInterval", result.FailureMessage, StringComparison.Ordinal);
    }
}

/// <summary>In a cluster large enough to slow heartbeats down, a snapshot is written every ten heartbeat intervals, not every heartbeat.</summary>
public sealed class SlowHeartbeatStorageTests() : ClusterTestBase(o => o.MaxHeartbeatsPerSecond = 1)
{
    [Fact]
    public async Task Heartbeats_told_to_come_every_few_seconds_are_snapshotted_every_ten_intervals()
    {
        var ids = new List<string>();
        for (var i = 0; i < 6; i++) ids.Add(await JoinAsync($"node-{i}", firstPort: 20000 + 100 * i));
        var joinedAt = Time.GetUtcNow();
        var interval = (await BeatAsync(ids[0])).Value!.HeartbeatInterval;
        Assert.Equal(TimeSpan.FromSeconds(6), interval); // 6 nodes at one heartbeat a second

        // 54 s of heartbeats every 6 s: more than the configured 30 s, less than ten intervals; nothing written.
        for (var beat = 0; beat < 9; beat++)
        {
            Time.Advance(interval);
            Assert.Equal(200, (await BeatAsync(ids[0])).StatusCode);
        }
        Assert.True(Time.GetUtcNow() - joinedAt > Options.NodeSnapshotInterval);
        Assert.Equal(joinedAt, (await Store.FindNodeAsync(ids[0]))!.LastHeartbeat);

        // Positive control: past ten intervals the next heartbeat is written as a snapshot.
        Time.Advance(interval);
        Time.Advance(interval);
        Assert.Equal(200, (await BeatAsync(ids[0])).StatusCode);
        Assert.Equal(Time.GetUtcNow(), (await Store.FindNodeAsync(ids[0]))!.LastHeartbeat);
    }
}
