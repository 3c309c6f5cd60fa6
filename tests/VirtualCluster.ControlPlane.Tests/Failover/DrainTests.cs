using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Tests.Failover;

/// <summary>Drain: start new, wait until healthy, stop old; cancel; leave.</summary>
public sealed class DrainTests : ClusterTestBase
{
    [Fact]
    public async Task Drain_starts_each_replacement_waits_until_it_is_healthy_then_stops_the_old_copy()
    {
        var n1 = await JoinAsync("node-1");
        var n2 = await JoinAsync("node-2", firstPort: 21000);
        var web = await DeployAsync(Spec(replicas: 2));
        await DeployAsync(Spec("pinned", replicas: 1, memory: "64Mi", extra: ", \"failover\": \"never\""));
        var drained = web[0].NodeId;
        var other = drained == n1 ? n2 : n1;
        await RunAsync(TimeSpan.FromSeconds(1), n1, n2);
        var onDrained = (await Store.ListInstancesAsync(nodeId: drained)).Where(i => i.Service == "web").Select(i => i.Id).ToList();

        var started = await Cluster.DrainAsync(drained == n1 ? "node-1" : "node-2", null, default);
        Assert.Equal(202, started.StatusCode);
        Assert.All(started.Value!.Instances.Where(i => i.Service == "web"), i => Assert.Equal("queued", i.Status));
        await Cluster.ReconcileOnceAsync(default);

        // Replacements are placed on the other node and the old copies still run until they are healthy.
        var moves = (await Store.ListInstancesAsync("web")).Where(i => i.Replaces is not null).ToList();
        Assert.Equal(onDrained.Count, moves.Count);
        Assert.All(moves, m => Assert.Equal(other, m.NodeId));
        var answer = await ReportAsync(drained);
        Assert.Equal(NodeState.Draining, answer.NodeState);
        Assert.Contains(answer.Drain!.Instances, i => i.Status == "moving");
        Assert.False(answer.Drain.Complete);
        await ReportAsync(other, InstanceState.Starting);
        await Cluster.ReconcileOnceAsync(default);
        var stillThere = await Store.ListInstancesAsync("web");
        Assert.All(onDrained, id => Assert.Contains(stillThere, i => i.Id == id));

        await ReportAsync(other);
        await Cluster.ReconcileOnceAsync(default);

        var after = await ReportAsync(drained);
        Assert.DoesNotContain(after.Assignments, a => a.Spec.Name == "web"); // its agent stops the old copies
        Assert.All(after.Assignments, a => Assert.Equal("pinned", a.Spec.Name)); // failover "never" stays, wherever it was
        Assert.True(after.Drain!.Complete);
        Assert.All(after.Drain.Instances, i => Assert.Equal("blocked", i.Status));
        var events = await EventsAsync();
        Assert.Equal(onDrained.Count, events.Count(e => e.Kind == EventKinds.InstanceMoved));
        Assert.Single(events, e => e.Kind == EventKinds.NodeDrained);
        var nodes = await Cluster.ListNodeViewsAsync(default);
        Assert.Equal(NodeState.Draining, nodes.Single(n => n.Node.Id == drained).Node.State);
        Assert.DoesNotContain(IncidentTimeline.Build(events).Single().Recoveries, r => r.HealthyAt is null);
    }

    [Fact]
    public async Task Cancel_removes_unfinished_replacements_and_the_node_takes_work_again()
    {
        var n1 = await JoinAsync("node-1");
        var n2 = await JoinAsync("node-2", firstPort: 21000);
        var web = Assert.Single(await DeployAsync(Spec(replicas: 1)));
        var name = web.NodeId == n1 ? "node-1" : "node-2";
        await Cluster.DrainAsync(name, null, default);
        await Cluster.ReconcileOnceAsync(default);
        Assert.Equal(2, (await Store.ListInstancesAsync("web")).Count);

        var cancelled = await Cluster.CancelDrainAsync(name, default);

        Assert.Equal(200, cancelled.StatusCode);
        Assert.Equal(web.Id, Assert.Single(await Store.ListInstancesAsync("web")).Id);
        Assert.Equal(NodeState.Alive, (await Store.FindNodeAsync(name))!.State);
        Assert.Equal(409, (await Cluster.CancelDrainAsync(name, default)).StatusCode);
        Assert.Equal(409, (await Cluster.GetDrainAsync(name, default)).StatusCode);
        _ = n2;
    }

    [Fact]
    public async Task Heartbeats_racing_with_drain_and_cancel_never_write_an_old_state_back()
    {
        var n1 = await JoinAsync("node-1");
        using var stop = new CancellationTokenSource();
        var beats = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested) await BeatAsync(n1);
        });
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(202, (await Cluster.DrainAsync("node-1", null, default)).StatusCode);
            await BeatAsync(n1);
            Assert.Equal(NodeState.Draining, (await Store.FindNodeAsync(n1))!.State);
            Assert.Equal(200, (await Cluster.CancelDrainAsync("node-1", default)).StatusCode);
            await BeatAsync(n1);
            Assert.Equal(NodeState.Alive, (await Store.FindNodeAsync(n1))!.State);
        }
        stop.Cancel();
        await beats;
    }

    [Fact]
    public async Task Drain_answers_clear_errors()
    {
        var n1 = await JoinAsync("node-1");
        var n2 = await JoinAsync("node-2", firstPort: 21000);
        Assert.Equal(404, (await Cluster.DrainAsync("nope", null, default)).StatusCode);
        var other = await Cluster.DrainAsync("node-1", n2, default);
        Assert.Equal(403, other.StatusCode);
        Assert.Contains("can only drain itself", other.Error!.Error);
        Assert.Equal(202, (await Cluster.DrainAsync(n1, n1, default)).StatusCode); // an agent drains itself by id

        await RunAsync(TimeSpan.FromSeconds(5), n1);
        var down = await Cluster.DrainAsync("node-2", null, default);
        Assert.Equal(409, down.StatusCode);
        Assert.Contains("down", down.Error!.Error);
    }

    [Fact]
    public async Task A_node_that_leaves_is_left_not_down_and_what_still_ran_there_fails_over()
    {
        var n1 = await JoinAsync("node-1");
        var n2 = await JoinAsync("node-2", firstPort: 21000);
        var web = await DeployAsync(Spec(replicas: 2));
        await RunAsync(TimeSpan.FromSeconds(1), n1, n2);
        var leaving = web[0].NodeId;
        var staying = leaving == n1 ? n2 : n1;

        Assert.Equal(200, (await Cluster.LeaveAsync(leaving, default)).StatusCode);
        await Cluster.ReconcileOnceAsync(default);

        Assert.Equal(NodeState.Left, (await Cluster.ListNodeViewsAsync(default)).Single(n => n.Node.Id == leaving).Node.State);
        Assert.All(await Store.ListInstancesAsync("web"), i => Assert.Equal(staying, i.NodeId));
        Assert.Contains(await EventsAsync(), e => e.Kind == EventKinds.NodeLeft && e.Incident is not null);
        Assert.DoesNotContain(await EventsAsync(), e => e.Kind == EventKinds.NodeDown);
        Assert.Equal(404, (await Cluster.LeaveAsync("node-zzz", default)).StatusCode);

        // A restarted agent reports again: the node is back.
        await ReportAsync(leaving);
        Assert.Equal(NodeState.Alive, (await Store.FindNodeAsync(leaving))!.State);
    }
}
