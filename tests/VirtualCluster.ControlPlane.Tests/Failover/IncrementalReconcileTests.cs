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
