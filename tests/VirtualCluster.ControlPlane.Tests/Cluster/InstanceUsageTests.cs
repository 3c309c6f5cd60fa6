using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Tests.Failover;

namespace VirtualCluster.ControlPlane.Tests.Cluster;

/// <summary>
/// Instances' measured usage from heartbeats reaches the service views and the history's service samples; reports
/// that are negative or beyond belief are ignored, and a stopped instance's figures are dropped.
/// </summary>
public sealed class InstanceUsageTests : ClusterTestBase
{
    private async Task BeatWithUsageAsync(string nodeId, Func<ServiceInstance, InstanceUsage?> usage)
    {
        var assigned = (await Store.ListInstancesAsync(nodeId: nodeId)).Where(i => !i.IsTerminal);
        var outcome = await BeatAsync(nodeId, [.. assigned.Select(i => new InstanceReport(i.Id, i.Epoch, InstanceState.Running, "", 0, 100, [], Usage: usage(i)))]);
        Assert.Equal(200, outcome.StatusCode);
    }

    [Fact]
    public async Task Measured_usage_shows_in_views_and_history_and_bad_reports_change_nothing()
    {
        var node = await JoinAsync("node-1");
        var instances = await DeployAsync(Spec(replicas: 2));
        await BeatWithUsageAsync(node, i => i.Id == instances[0].Id ? new InstanceUsage(300, 100L << 20) : new InstanceUsage(200, 50L << 20));

        var view = await ViewAsync();
        Assert.Equal([300L, 200L], view.Instances.OrderBy(i => i.Instance.Id == instances[0].Id ? 0 : 1).Select(i => i.Usage!.CpuMillicores));
        var sample = Cluster.HistoryFacts()!.Value.Services.Single(s => s.Name == "web");
        Assert.Equal((500.0, (double)(150L << 20)), (sample.CpuMillicores, sample.MemoryBytes));

        // Hostile figures are ignored: the last good ones stay.
        await BeatWithUsageAsync(node, i => i.Id == instances[0].Id ? new InstanceUsage(-5, 1) : new InstanceUsage(200, 1L << 60));
        sample = Cluster.HistoryFacts()!.Value.Services.Single(s => s.Name == "web");
        Assert.Equal((500.0, (double)(150L << 20)), (sample.CpuMillicores, sample.MemoryBytes));

        // Removed: its instances' figures go with it.
        Assert.NotNull(Cluster.UsageOf(instances[0].Id));
        Assert.True(await Cluster.RemoveAsync("web", default));
        await Cluster.ReconcileOnceAsync(default);
        Assert.DoesNotContain(Cluster.HistoryFacts()!.Value.Services, s => s.Name == "web");
        Assert.Null(Cluster.UsageOf(instances[0].Id));
    }

    [Fact]
    public async Task A_service_never_measured_has_no_figures_rather_than_zero()
    {
        var node = await JoinAsync("node-1");
        await DeployAsync(Spec(replicas: 1));
        await ReportAsync(node);
        var sample = Cluster.HistoryFacts()!.Value.Services.Single(s => s.Name == "web");
        Assert.True(double.IsNaN(sample.CpuMillicores) && double.IsNaN(sample.MemoryBytes));
        Assert.Null(Assert.Single((await ViewAsync()).Instances).Usage);
    }
}
