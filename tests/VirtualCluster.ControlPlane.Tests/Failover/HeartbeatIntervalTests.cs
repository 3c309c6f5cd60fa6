using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.Membership;

namespace VirtualCluster.ControlPlane.Tests.Failover;

/// <summary>
/// The heartbeat interval grows with the cluster beyond <see cref="ControlPlaneOptions.MaxHeartbeatsPerSecond"/>, and
/// the failure detector judges each node against the interval it was told (virtual time, the real detector).
/// </summary>
public sealed class HeartbeatIntervalTests() : ClusterTestBase(o => o.MaxHeartbeatsPerSecond = 1)
{
    [Fact]
    public void The_interval_is_the_configured_one_until_the_rate_bound_then_nodes_over_the_rate()
    {
        var options = new ControlPlaneOptions();
        Assert.Equal(TimeSpan.FromMilliseconds(500), ClusterService.HeartbeatIntervalFor(options, 1));
        Assert.Equal(TimeSpan.FromMilliseconds(500), ClusterService.HeartbeatIntervalFor(options, 500));
        Assert.Equal(TimeSpan.FromMilliseconds(501), ClusterService.HeartbeatIntervalFor(options, 501)); // rounded up to a millisecond
        Assert.Equal(TimeSpan.FromSeconds(10), ClusterService.HeartbeatIntervalFor(options, 10_000));
        Assert.Equal(ClusterService.MaxHeartbeatInterval, ClusterService.HeartbeatIntervalFor(options, 10_000_000));
        options.MaxHeartbeatsPerSecond = 50; // Nomad's default
        Assert.Equal(TimeSpan.FromSeconds(200), ClusterService.HeartbeatIntervalFor(options, 10_000));
    }

    [Fact]
    public async Task Agents_are_told_a_longer_interval_and_lease_as_nodes_join_and_a_shorter_one_as_they_leave()
    {
        var first = await JoinAsync("node-a");
        var small = (await BeatAsync(first)).Value!;
        Assert.Equal(TimeSpan.FromSeconds(1), small.HeartbeatInterval); // one node at one heartbeat a second
        Assert.Equal(TimeSpan.FromSeconds(4), small.FencingLease); // 3 s + 2 x (1 s - 0.5 s)

        var ids = new List<string> { first };
        for (var i = 1; i < 6; i++) ids.Add(await JoinAsync($"node-{(char)('a' + i)}", firstPort: 20000 + 100 * i));
        var large = (await BeatAsync(first)).Value!;
        Assert.Equal(TimeSpan.FromSeconds(6), large.HeartbeatInterval);
        Assert.Equal(TimeSpan.FromSeconds(14), large.FencingLease); // still at least two intervals

        // A node that leaves no longer counts.
        Assert.Equal(200, (await Cluster.LeaveAsync(ids[5], default)).StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(5), (await BeatAsync(first)).Value!.HeartbeatInterval);
    }

    [Fact]
    public async Task A_node_told_to_slow_down_is_not_declared_down_while_one_that_stops_is()
    {
        var ids = new List<string>();
        for (var i = 0; i < 6; i++) ids.Add(await JoinAsync($"node-{i}", firstPort: 20000 + 100 * i));
        var interval = TimeSpan.Zero;
        foreach (var id in ids) interval = (await BeatAsync(id)).Value!.HeartbeatInterval;
        Assert.Equal(TimeSpan.FromSeconds(6), interval); // 6 nodes at one heartbeat a second: 12 x the configured 500 ms
        await Cluster.ReconcileOnceAsync(default);

        // Five nodes report as told (every 6 s, up to 300 ms late); node-5 stops after its first heartbeat.
        var quiet = ids[5];
        var stoppedAt = Time.GetUtcNow();
        var nextBeat = ids.Take(5).Select((id, i) => (Id: id, At: Time.GetUtcNow() + interval + TimeSpan.FromMilliseconds(60 * i))).ToList();
        TimeSpan? downAfter = null;
        var step = TimeSpan.FromMilliseconds(100);
        for (var elapsed = TimeSpan.Zero; elapsed < TimeSpan.FromMinutes(2); elapsed += step)
        {
            Time.Advance(step);
            for (var i = 0; i < nextBeat.Count; i++)
            {
                if (Time.GetUtcNow() < nextBeat[i].At) continue;
                var answer = (await BeatAsync(nextBeat[i].Id)).Value!;
                nextBeat[i] = (nextBeat[i].Id, Time.GetUtcNow() + answer.HeartbeatInterval);
            }
            if (Cluster.NeedsReconcile()) await Cluster.ReconcileOnceAsync(default);
            foreach (var (id, _) in nextBeat) Assert.Equal(NodeState.Alive, Detector.GetState(id));
            if (downAfter is null && Detector.GetState(quiet) == NodeState.Down) downAfter = Time.GetUtcNow() - stoppedAt;
        }

        // Positive control: the node that really stopped is declared down, about MinimumDetectionTime(6 s) after its
        // last heartbeat (6 + 1.5 + 5.6 x 0.2 s), not within its interval and not at the configured 3.1 s.
        Assert.NotNull(downAfter);
        var expected = Options.FailureDetector.MinimumDetectionTime(interval);
        Assert.InRange(downAfter!.Value, expected - TimeSpan.FromMilliseconds(300), expected + TimeSpan.FromMilliseconds(300));
        Assert.True(downAfter > interval + Options.FailureDetector.AcceptableHeartbeatPause);
        var events = await Store.QueryEventsAsync(new EventQuery { Kind = EventKinds.NodeDown });
        Assert.Equal(["node-5"], events.Select(e => e.Subject).ToArray());
    }
}
