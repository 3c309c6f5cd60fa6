namespace VirtualCluster.ControlPlane.Tests.Failover;

/// <summary>
/// Reconcile passes between full ones look only at services that changed or wait for a retry; the work they do is the
/// same as a full pass would do.
/// </summary>
public sealed class IncrementalReconcileTests() : ClusterTestBase(o => o.FullReconcileInterval = TimeSpan.FromHours(1))
{
    [Fact]
    public async Task A_pass_woken_by_a_change_acts_on_the_changed_service_without_a_full_pass()
    {
        var a = await JoinAsync("node-a");
        var b = await JoinAsync("node-b", firstPort: 20100);
        await DeployAsync(Spec("web", replicas: 2));
        await DeployAsync(Spec("api", replicas: 1, memory: "512Mi"));
        await ReportAsync(a);
        await ReportAsync(b);
        await Cluster.ReconcileOnceAsync(default); // the first pass of the term looks at everything
        var (fullBefore, partialBefore) = Cluster.PassCounts;
        Assert.True(fullBefore >= 1);

        // Nothing changed: a pass looks at no service and does nothing.
        var instancesBefore = (await Store.ListInstancesAsync()).Select(i => (i.Id, i.State)).ToList();
        Time.Advance(Beat);
        await Cluster.ReconcileOnceAsync(default);
        Assert.Equal(instancesBefore, (await Store.ListInstancesAsync()).Select(i => (i.Id, i.State)).ToList());

        // A web instance fails on node-a: the next pass, not a full one, replaces it (positive control: the change is seen).
        var web = (await Store.ListInstancesAsync("web")).First(i => i.NodeId == a);
        Time.Advance(Beat);
        var beat = await BeatAsync(a, [new VirtualCluster.Api.InstanceReport(web.Id, web.Epoch, InstanceState.Failed, "exit 1", 5, null, [])]);
        Assert.Equal(200, beat.StatusCode);
        Assert.True(Cluster.NeedsReconcile());
        await Cluster.ReconcileOnceAsync(default);
        var (fullAfter, partialAfter) = Cluster.PassCounts;
        Assert.Equal(fullBefore, fullAfter);
        Assert.True(partialAfter >= partialBefore + 2);
        var webNow = await Store.ListInstancesAsync("web");
        Assert.Contains(webNow, i => i.Replaces == web.Id || (i.Id != web.Id && i.State == InstanceState.Pending));
        Assert.Single(await Store.ListInstancesAsync("api"));
    }

    [Fact]
    public async Task A_full_pass_still_runs_at_its_interval()
    {
        await JoinAsync("node-a");
        await Cluster.ReconcileOnceAsync(default);
        var (full, _) = Cluster.PassCounts;
        Time.Advance(TimeSpan.FromMinutes(30));
        await Cluster.ReconcileOnceAsync(default);
        Assert.Equal(full, Cluster.PassCounts.Full);
        Time.Advance(TimeSpan.FromMinutes(31));
        await Cluster.ReconcileOnceAsync(default);
        Assert.Equal(full + 1, Cluster.PassCounts.Full);
    }
}

/// <summary>
/// Between full walks a pass reads only the nodes whose live state can have changed (touched, not Alive, or past the
/// time the detector guarantees them Alive), and still sees every change.
/// </summary>
public sealed class IncrementalNodeWalkTests() : ClusterTestBase(o => o.FullReconcileInterval = TimeSpan.FromHours(1))
{
    [Fact]
    public async Task A_node_that_stops_reporting_is_declared_down_by_a_pass_that_reads_only_due_nodes()
    {
        var a = await JoinAsync("node-a");
        var b = await JoinAsync("node-b", firstPort: 20100);
        var c = await JoinAsync("node-c", firstPort: 20200);
        await RunAsync(TimeSpan.FromSeconds(5), a, b, c);
        var walks = Cluster.FullNodeWalks;
        Assert.True(walks >= 1);
        Cluster.NeedsReconcile(); // takes the wake-up the joins asked for

        // Steady: passes keep running without reading every node again (the walk count stays), and checks between
        // them find nothing to do while every node reports.
        await RunAsync(TimeSpan.FromSeconds(5), a, b, c);
        Assert.Equal(walks, Cluster.FullNodeWalks);
        for (var step = 0; step < 20; step++)
        {
            Time.Advance(TimeSpan.FromMilliseconds(250));
            if (step % 2 == 1) foreach (var node in new[] { a, b, c }) await ReportAsync(node);
            Assert.False(Cluster.NeedsReconcile());
        }

        // node-c stops: the check notices once its guaranteed time Alive has run out, and a pass declares it down.
        var down = await UntilAsync(async () => (await EventsAsync()).Any(e => e.Kind == EventKinds.NodeDown && e.Node == "node-c"), TimeSpan.FromSeconds(30), a, b);
        Assert.InRange(down, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15));
        Assert.Equal(walks, Cluster.FullNodeWalks);
        Assert.DoesNotContain(await EventsAsync(), e => e.Kind == EventKinds.NodeDown && e.Node != "node-c");

        // It comes back: its heartbeat asks for a pass, which sees it Alive again.
        await ReportAsync(c);
        Assert.True(Cluster.NeedsReconcile());
        await Cluster.ReconcileOnceAsync(default);
        Assert.Contains(await EventsAsync(), e => e.Kind == EventKinds.NodeAlive && e.Node == "node-c");
    }

    [Fact]
    public async Task A_drain_written_to_a_node_record_is_seen_by_the_next_pass()
    {
        var a = await JoinAsync("node-a");
        var b = await JoinAsync("node-b", firstPort: 20100);
        await DeployAsync(Spec("web", replicas: 1));
        await RunAsync(TimeSpan.FromSeconds(2), a, b);
        var onA = (await Store.ListInstancesAsync("web")).Single().NodeId == a;
        var (from, to) = onA ? ("node-a", b) : ("node-b", a);
        var walks = Cluster.FullNodeWalks;

        Assert.InRange((await Cluster.DrainAsync(from, null, default)).StatusCode, 200, 299);
        await UntilAsync(async () => (await Store.ListInstancesAsync("web")).Any(i => !i.IsTerminal && i.NodeId == to), TimeSpan.FromSeconds(10), a, b);
        Assert.Equal(walks, Cluster.FullNodeWalks); // not a full walk: the write touched the node, and the pass saw it
    }
}
