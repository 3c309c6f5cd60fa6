using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Tests.Failover;

/// <summary>Failed instances are replaced with backoff up to maxAttempts; placements that do not fit are retried.</summary>
public sealed class RetryTests : ClusterTestBase
{
    private async Task FailAllAsync(string nodeId) => await ReportAsync(nodeId, InstanceState.Failed, "process exited with code 1; gave up after 5 restarts");

    [Fact]
    public async Task Failed_instances_are_replaced_elsewhere_with_growing_backoff_then_the_service_gives_up()
    {
        var n1 = await JoinAsync("node-1");
        var n2 = await JoinAsync("node-2", firstPort: 21000);
        var first = Assert.Single(await DeployAsync(Spec(replicas: 1, extra: ", \"failover\": {\"maxAttempts\": 3}")));

        var placedAt = new List<DateTimeOffset>();
        var nodes = new List<string>();
        var current = first;
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            await FailAllAsync(current.NodeId);
            var failed = current.Id;
            await UntilAsync(async () => (await Store.ListInstancesAsync("web")).All(i => i.Id != failed), TimeSpan.FromSeconds(10), n1, n2);
            current = Assert.Single(await Store.ListInstancesAsync("web"));
            placedAt.Add(Time.GetUtcNow());
            nodes.Add(current.NodeId);
        }
        // The first replacement is immediate; then about 1 s, 2 s (plus up to 10% jitter) between attempts.
        Assert.InRange((placedAt[1] - placedAt[0]).TotalSeconds, 1.0, 1.3);
        Assert.InRange((placedAt[2] - placedAt[1]).TotalSeconds, 2.0, 2.4);
        // Each replacement goes to the other node.
        Assert.Equal([n1 == first.NodeId ? n2 : n1, first.NodeId, n1 == first.NodeId ? n2 : n1], nodes);
        Assert.Equal(["FailoverRetried", "ServiceDegraded"], Alerts()); // a replacement failed again: retried, not given up yet

        await FailAllAsync(current.NodeId);
        await RunAsync(TimeSpan.FromSeconds(60), n1, n2);
        var last = Assert.Single(await Store.ListInstancesAsync("web"));
        Assert.Equal((current.Id, InstanceState.Failed), (last.Id, last.State));
        var gaveUp = Assert.Single(await EventsAsync(new EventQuery { Kind = EventKinds.ServiceGaveUp }));
        Assert.Contains("maxAttempts 3", gaveUp.Message);
        var pending = Assert.Single((await ViewAsync()).Pending!);
        Assert.Equal(("gave-up", 3), (pending.Kind, pending.Attempts));
        Assert.Contains("vcluster rm web", pending.Reason);
        Assert.Equal(["FailoverFailed", "ServiceDegraded"], Alerts());
    }

    /// <summary>The built-in rules' alerts about services on the leader's facts now (ServiceDegraded's duration is met).</summary>
    private List<string> Alerts()
    {
        var facts = Cluster.AlertFacts()!;
        var rules = new VirtualCluster.ControlPlane.Alerts.AlertRules(new() { DegradedFor = TimeSpan.Zero });
        return [.. rules.Evaluate([], facts.Services, Time.GetUtcNow()).Select(a => a.Name).Order()];
    }

    [Fact]
    public async Task Max_attempts_zero_leaves_failed_instances_alone()
    {
        var n1 = await JoinAsync("node-1");
        await JoinAsync("node-2", firstPort: 21000);
        var first = Assert.Single(await DeployAsync(Spec(replicas: 1, extra: ", \"failover\": {\"maxAttempts\": 0}")));
        await FailAllAsync(first.NodeId);
        await RunAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(InstanceState.Failed, Assert.Single(await Store.ListInstancesAsync("web")).State);
        Assert.Empty((await ViewAsync()).Pending!);
        _ = n1;
    }

    [Fact]
    public async Task Restart_policy_never_leaves_a_failed_instance_as_it_is()
    {
        await JoinAsync("node-1");
        await JoinAsync("node-2", firstPort: 21000);
        var first = Assert.Single(await DeployAsync(Spec(replicas: 1, extra: ", \"restartPolicy\": \"never\"")));
        await ReportAsync(first.NodeId, InstanceState.Failed, "process exited with code 3; restart policy Never does not restart it");
        await RunAsync(TimeSpan.FromSeconds(10));
        var stored = Assert.Single(await Store.ListInstancesAsync("web"));
        Assert.Equal((first.Id, InstanceState.Failed), (stored.Id, stored.State));
    }

    [Fact]
    public async Task A_replacement_that_stays_healthy_resets_the_attempt_count()
    {
        var n1 = await JoinAsync("node-1");
        var n2 = await JoinAsync("node-2", firstPort: 21000);
        var first = Assert.Single(await DeployAsync(Spec(replicas: 1, extra: ", \"failover\": {\"maxAttempts\": 1}")));
        await FailAllAsync(first.NodeId);
        await RunAsync(TimeSpan.FromSeconds(1));
        var second = Assert.Single(await Store.ListInstancesAsync("web"));
        Assert.NotEqual(first.Id, second.Id);

        await RunAsync(TimeSpan.FromSeconds(70), n1, n2); // healthy for over a minute
        await FailAllAsync(second.NodeId);
        await RunAsync(TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(await Store.ListInstancesAsync("web"), i => i.Id == second.Id);
        Assert.Empty(await EventsAsync(new EventQuery { Kind = EventKinds.ServiceGaveUp }));
    }

    [Fact]
    public async Task Placements_that_do_not_fit_are_retried_with_backoff_and_shown_as_pending_until_a_node_has_room()
    {
        var n1 = await JoinAsync("node-1", memory: 3 * Gi);
        var n2 = await JoinAsync("node-2", memory: 3 * Gi, firstPort: 21000);
        var placed = await DeployAsync(Spec(replicas: 2, memory: "2Gi"));
        Assert.NotEqual(placed[0].NodeId, placed[1].NodeId);
        await RunAsync(TimeSpan.FromSeconds(1), n1, n2);

        await RunAsync(TimeSpan.FromSeconds(12), n1); // node-2 dies; node-1 has no room for a second 2Gi instance
        var view = await ViewAsync();
        var pending = Assert.Single(view.Pending!);
        Assert.Equal(("placement", 1), (pending.Kind, pending.Instances));
        Assert.Contains("memory", pending.Reason);
        Assert.True(pending.Attempts >= 2, $"{pending.Attempts} attempts");
        Assert.True(pending.NextAttemptAt > Time.GetUtcNow());
        Assert.Single(await EventsAsync(new EventQuery { Kind = EventKinds.ServicePending })); // recorded once, not per retry

        var n3 = await JoinAsync("node-3", memory: 3 * Gi, firstPort: 22000);
        await UntilAsync(async () => (await Store.ListInstancesAsync("web")).Any(i => i.NodeId == n3), TimeSpan.FromSeconds(1.5), n1, n3);
        await Cluster.ReconcileOnceAsync(default);
        Assert.Empty((await ViewAsync()).Pending!);
    }
}
