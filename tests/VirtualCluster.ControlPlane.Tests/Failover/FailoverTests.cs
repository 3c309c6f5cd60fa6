using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Tests.Failover;

/// <summary>Node failure → detection → replacement, per failover policy, on virtual time.</summary>
public sealed class FailoverTests() : ClusterTestBase(o => o.FencingLease = TimeSpan.FromSeconds(5))
{
    private async Task<(string N1, string N2, string N3)> ThreeNodesAsync()
    {
        var n1 = await JoinAsync("node-1");
        var n2 = await JoinAsync("node-2", firstPort: 21000);
        var n3 = await JoinAsync("node-3", firstPort: 22000);
        return (n1, n2, n3);
    }

    [Fact]
    public async Task A_replicated_service_is_replaced_as_soon_as_its_node_is_down_and_the_events_give_the_timeline()
    {
        var (n1, n2, n3) = await ThreeNodesAsync();
        var placed = await DeployAsync(Spec(replicas: 2));
        await RunAsync(TimeSpan.FromSeconds(5), n1, n2, n3);
        var victim = placed[0].NodeId;
        var alive = new[] { n1, n2, n3 }.Where(n => n != victim).ToArray();

        // The victim stops reporting; the others keep going.
        var took = await UntilAsync(async () => (await Store.ListInstancesAsync("web")).All(i => i.NodeId != victim && i.State == InstanceState.Running),
            TimeSpan.FromSeconds(10), alive);

        Assert.InRange(took.TotalSeconds, 3.0, 4.5); // detection at ~3.1 s of silence, then one heartbeat to report running
        var instances = await Store.ListInstancesAsync("web");
        Assert.Equal(2, instances.Count);
        var lost = placed.Where(p => p.NodeId == victim).ToList();
        var replacements = instances.Where(i => lost.Any(l => l.Id == i.Replaces)).ToList();
        Assert.Equal(lost.Count, replacements.Count);
        Assert.All(replacements, r => Assert.True(r.Epoch > placed.Max(p => p.Epoch)));

        var incident = Assert.Single(IncidentTimeline.Build(await EventsAsync()));
        Assert.Equal(EventKinds.NodeDown, incident.Cause);
        Assert.Equal(replacements.Select(r => r.Id).Order(), incident.Recoveries.Select(r => r.Instance).Order());
        Assert.All(incident.Recoveries, r =>
            Assert.True(incident.DetectedAt <= r.PlacedAt && r.PlacedAt <= r.StartedAt && r.StartedAt <= r.HealthyAt));
        Assert.NotNull(incident.RecoveredAt);
        var events = await EventsAsync();
        Assert.All(lost, l => Assert.Contains(events, e => e.Kind == EventKinds.InstanceLost && e.Instance == l.Id && e.Incident == incident.Id));
    }

    [Fact]
    public async Task A_singleton_is_replaced_only_after_the_fencing_lease_and_margin()
    {
        var (n1, n2, n3) = await ThreeNodesAsync();
        var first = Assert.Single(await DeployAsync(Spec(replicas: 1)));
        await RunAsync(TimeSpan.FromSeconds(5), n1, n2, n3);
        var alive = new[] { n1, n2, n3 }.Where(n => n != first.NodeId).ToArray();

        await UntilAsync(() => Task.FromResult(Detector.GetState(first.NodeId) == NodeState.Down), TimeSpan.FromSeconds(5), alive);
        await Cluster.ReconcileOnceAsync(default);
        var held = Assert.Single(await Store.ListInstancesAsync("web"));
        Assert.Equal(InstanceState.Unknown, held.State);
        Assert.Contains("fencing lease", held.Reason);
        var pending = Assert.Single((await ViewAsync()).Pending!);
        Assert.Equal("failover", pending.Kind);

        var silenceAtPlacement = TimeSpan.Zero;
        await UntilAsync(async () =>
        {
            var all = await Store.ListInstancesAsync("web");
            if (all.Any(i => i.NodeId != first.NodeId)) silenceAtPlacement = Detector.Inspect(first.NodeId).SinceLastHeartbeat!.Value;
            return silenceAtPlacement > TimeSpan.Zero;
        }, TimeSpan.FromSeconds(5), alive);

        // Lease 5 s + margin 0.5 s, checked every 100 ms.
        Assert.InRange(silenceAtPlacement.TotalSeconds, 5.5, 5.7);
    }

    [Fact]
    public async Task Failover_never_keeps_the_instance_on_its_node_as_unknown_until_the_node_is_back()
    {
        var (n1, n2, n3) = await ThreeNodesAsync();
        var pinned = Assert.Single(await DeployAsync(Spec(replicas: 1, extra: ", \"failover\": \"never\"")));
        await RunAsync(TimeSpan.FromSeconds(2), n1, n2, n3);
        var alive = new[] { n1, n2, n3 }.Where(n => n != pinned.NodeId).ToArray();

        await RunAsync(TimeSpan.FromSeconds(20), alive);

        var stored = Assert.Single(await Store.ListInstancesAsync("web"));
        Assert.Equal((pinned.Id, InstanceState.Unknown), (stored.Id, stored.State));
        Assert.Contains("failover \"never\"", stored.Reason);

        var answer = await ReportAsync(pinned.NodeId);
        Assert.Equal(pinned.Id, Assert.Single(answer.Assignments).InstanceId);
        Assert.Equal(InstanceState.Running, Assert.Single(await Store.ListInstancesAsync("web")).State);
    }

    [Fact]
    public async Task A_failover_delay_lets_a_node_that_returns_in_time_keep_its_instances()
    {
        var (n1, n2, n3) = await ThreeNodesAsync();
        var placed = await DeployAsync(Spec(replicas: 2, extra: ", \"failover\": {\"delay\": \"10s\"}"));
        await RunAsync(TimeSpan.FromSeconds(2), n1, n2, n3);
        var victim = placed[0].NodeId;
        var alive = new[] { n1, n2, n3 }.Where(n => n != victim).ToArray();

        await RunAsync(TimeSpan.FromSeconds(8), alive); // down after ~3 s, still within the 10 s delay
        Assert.Equal(InstanceState.Unknown, (await Store.ListInstancesAsync("web")).Single(i => i.Id == placed[0].Id).State);
        await ReportAsync(victim);
        await RunAsync(TimeSpan.FromSeconds(15), n1, n2, n3);

        Assert.Equal(placed.Select(p => p.Id).Order(), (await Store.ListInstancesAsync("web")).Select(i => i.Id).Order());
    }

    [Fact]
    public async Task A_failover_delay_moves_instances_once_it_has_passed()
    {
        var (n1, n2, n3) = await ThreeNodesAsync();
        var placed = await DeployAsync(Spec(replicas: 2, extra: ", \"failover\": {\"delay\": \"10s\"}"));
        await RunAsync(TimeSpan.FromSeconds(2), n1, n2, n3);
        var victim = placed[0].NodeId;
        var alive = new[] { n1, n2, n3 }.Where(n => n != victim).ToArray();

        var took = await UntilAsync(async () => (await Store.ListInstancesAsync("web")).All(i => i.NodeId != victim), TimeSpan.FromSeconds(20), alive);
        Assert.InRange(took.TotalSeconds, 13, 13.8); // ~3.1 s to detect + 10 s delay
    }

    [Fact]
    public async Task A_node_that_comes_back_after_failover_is_told_to_stop_its_stale_copy()
    {
        var (n1, n2, n3) = await ThreeNodesAsync();
        var first = Assert.Single(await DeployAsync(Spec(replicas: 1)));
        await RunAsync(TimeSpan.FromSeconds(2), n1, n2, n3);
        var alive = new[] { n1, n2, n3 }.Where(n => n != first.NodeId).ToArray();
        await UntilAsync(async () => (await Store.ListInstancesAsync("web")).Any(i => i.NodeId != first.NodeId && i.State == InstanceState.Running),
            TimeSpan.FromSeconds(15), alive);

        var back = await BeatAsync(first.NodeId, [new InstanceReport(first.Id, first.Epoch, InstanceState.Running, "", 0, 1, [])]);

        Assert.Empty(back.Value!.Assignments);
        Assert.Equal(TimeSpan.FromSeconds(5), back.Value.FencingLease);
        Assert.Equal(NodeState.Alive, back.Value.NodeState);
        Assert.DoesNotContain(await Store.ListInstancesAsync("web"), i => i.Id == first.Id);
        await Cluster.ReconcileOnceAsync(default);
        Assert.Contains(await EventsAsync(), e => e.Kind == EventKinds.NodeAlive && e.Node == "node-" + (new[] { n1, n2, n3 }.ToList().IndexOf(first.NodeId) + 1));
    }

    [Fact]
    public async Task A_fenced_singleton_reported_by_its_agent_is_logged_and_replaced()
    {
        var (n1, n2, n3) = await ThreeNodesAsync();
        var first = Assert.Single(await DeployAsync(Spec(replicas: 1)));
        await RunAsync(TimeSpan.FromSeconds(2), n1, n2, n3);

        // The agent was cut off longer than its lease, stopped the copy, and tells us when it is back.
        var fencedAt = Time.GetUtcNow() - TimeSpan.FromSeconds(1);
        await BeatAsync(first.NodeId, [new InstanceReport(first.Id, first.Epoch, InstanceState.Stopped, "fenced: no contact with the control plane for 5.0 s", 0, null, [])],
            [new AgentEvent(fencedAt, EventKinds.InstanceFenced, first.Id, $"stopped {first.Id}: no contact with the control plane for 5.0 s")]);
        await Cluster.ReconcileOnceAsync(default);

        var fenced = Assert.Single(await EventsAsync(new EventQuery { Kind = EventKinds.InstanceFenced }));
        Assert.Equal(("web", first.Id), (fenced.Service, fenced.Instance));
        Assert.Equal(fencedAt, fenced.Timestamp);
        var replacement = Assert.Single(await Store.ListInstancesAsync("web"));
        Assert.Equal(first.Id, replacement.Replaces);
        Assert.NotNull(replacement.Incident);
    }

    [Fact]
    public async Task Agent_events_with_bad_kinds_are_dropped_and_too_many_are_refused()
    {
        var n1 = await JoinAsync("node-1");
        await BeatAsync(n1, events: [new AgentEvent(Time.GetUtcNow(), "Not A Kind", null, "x"), new AgentEvent(Time.GetUtcNow().AddHours(1), "node.note", null, "from the future")]);
        var recorded = Assert.Single(await EventsAsync(new EventQuery { Kind = "node.note" }));
        Assert.Equal(Time.GetUtcNow(), recorded.Timestamp);
        var tooMany = await BeatAsync(n1, events: Enumerable.Range(0, 101).Select(_ => new AgentEvent(Time.GetUtcNow(), "node.note", null, "x")).ToList());
        Assert.Equal(400, tooMany.StatusCode);
    }

    [Fact]
    public async Task Suspect_and_alive_transitions_are_recorded_and_suspect_nodes_get_no_new_work()
    {
        var (n1, n2, _) = await ThreeNodesAsync();
        await RunAsync(TimeSpan.FromSeconds(2), n1, n2);
        await UntilAsync(() => Task.FromResult(Detector.GetState(n1) == NodeState.Suspect), TimeSpan.FromSeconds(4), n2);
        await Cluster.ReconcileOnceAsync(default);

        Assert.Contains(await EventsAsync(), e => e.Kind == EventKinds.NodeSuspect && e.Node == "node-1");
        var placed = await DeployAsync(Spec(replicas: 1));
        Assert.NotEqual(n1, placed[0].NodeId);
        await ReportAsync(n1);
        await Cluster.ReconcileOnceAsync(default);
        Assert.Contains(await EventsAsync(), e => e.Kind == EventKinds.NodeAlive && e.Node == "node-1");
    }
}
