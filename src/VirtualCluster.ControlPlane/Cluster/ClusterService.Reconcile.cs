using System.Collections.Concurrent;
using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Cluster;

// Node state transitions and instances on nodes that stopped reporting.
public sealed partial class ClusterService
{
    /// <summary>Detector state per node at the last pass; <see cref="NeedsReconcile"/> compares against it.</summary>
    private readonly ConcurrentDictionary<string, NodeState> _observedLiveness = new(StringComparer.Ordinal);
    /// <summary>Live state per node at the last pass, for transition events. Touched under the placement lock only.</summary>
    private readonly Dictionary<string, NodeState> _observedState = new(StringComparer.Ordinal);
    /// <summary>When each Down or Left node was declared so, and the incident its recovery belongs to.</summary>
    private readonly Dictionary<string, (DateTimeOffset At, string Incident)> _unreachableSince = new(StringComparer.Ordinal);
    private volatile IReadOnlyDictionary<string, IReadOnlyList<PendingWork>> _pendingViews = new Dictionary<string, IReadOnlyList<PendingWork>>();
    /// <summary>Services whose failed instances were replaced lately (not yet stable again), for the alert rules; set by each pass.</summary>
    private volatile IReadOnlyDictionary<string, FailoverRetryView> _failoverViews = new Dictionary<string, FailoverRetryView>();

    /// <summary>
    /// Gives every stored node a fresh grace period, as if it had just reported. Called at start-up so a
    /// restarted control plane does not declare every node down before agents had a chance to report.
    /// </summary>
    public async Task StartGracePeriodAsync(CancellationToken ct)
    {
        // Agents were told an interval for the cluster's size by the last leader: the same rule gives the same one.
        var nodes = await Store.ListNodesAsync(ct);
        var interval = HeartbeatIntervalFor(_options, nodes.Count(n => n.State != NodeState.Left));
        foreach (var node in nodes)
            if (node.State != NodeState.Left) _detector.Heartbeat(node.Id, interval);
        Interlocked.Exchange(ref _walkAllNodes, 1); // every node's liveness changed: the next pass looks at all of them
    }

    /// <summary>
    /// One pass of desired versus actual: records node state changes; instances on Down or Left nodes become Lost
    /// (after their service's failover delay and, for singletons, the fencing lease) or Unknown (failover "never");
    /// drains advance; services with fewer instances than replicas get replacements; failed instances are replaced
    /// with backoff up to their failover maxAttempts. Healthy instances are never touched.
    /// </summary>
    public async Task ReconcileOnceAsync(CancellationToken ct)
    {
        await _placementLock.WaitAsync(ct);
        try
        {
            Interlocked.Exchange(ref _nextDueTicks, long.MaxValue);
            ForgetEarlierTerm();
            var pending = new Dictionary<string, List<PendingWork>>(StringComparer.Ordinal);
            // Every node is listed only when a step needs them all (a full walk lists them anyway).
            var nodes = await TrackNodeStatesAsync(ct);
            async ValueTask<IReadOnlyList<NodeInfo>> AllNodesAsync() => nodes ??= await Store.ListNodesAsync(ct);
            await HandleUnreachableNodesAsync(pending, ct);
            await AdvanceDrainsAsync(_observedState.ContainsValue(NodeState.Draining) ? await AllNodesAsync() : [], pending, ct);
            await ReplaceMissingAndFailedAsync(pending, ct);
            await RepairReplicaHoldersAsync(AllNodesAsync, ct);
            _pendingViews = pending.ToDictionary(p => p.Key, p => (IReadOnlyList<PendingWork>)p.Value, StringComparer.Ordinal);
            _failoverViews = _failureRetries.Where(r => r.Value.Attempts > 0)
                .ToDictionary(r => r.Key, r => new FailoverRetryView(r.Value.Attempts, r.Value.GaveUp, r.Value.Reason), StringComparer.Ordinal);
        }
        finally
        {
            _placementLock.Release();
        }
    }

    private static void AddPending(Dictionary<string, List<PendingWork>> pending, string service, PendingWork work)
    {
        if (!pending.TryGetValue(service, out var list)) pending[service] = list = [];
        list.Add(work);
    }

    /// <summary>
    /// Records node state changes (events, failover bookkeeping). Looks at the nodes whose live state can have
    /// changed since the last pass (see <see cref="LivenessWatch"/>), in name order; at every node after a (re)load,
    /// when nodes joined or were renamed, and every <see cref="ControlPlaneOptions.FullReconcileInterval"/> as a
    /// safety net. Returns every node in name order when it looked at all of them, else null.
    /// </summary>
    private async Task<IReadOnlyList<NodeInfo>?> TrackNodeStatesAsync(CancellationToken ct)
    {
        var snapshot = Term is { } term ? await term.State.SnapshotAsync(ct) : null;
        var all = snapshot is null || _observedState.Count == 0 || Interlocked.Exchange(ref _walkAllNodes, 0) == 1
            || !ReferenceEquals(snapshot.Order, _walkedOrder) || Now - _lastNodeWalk >= _options.FullReconcileInterval;
        IReadOnlyList<NodeInfo> nodes;
        if (all)
        {
            _liveness.Clear();
            nodes = await Store.ListNodesAsync(ct);
            _walkedOrder = snapshot?.Order;
            _lastNodeWalk = Now;
            Interlocked.Increment(ref _fullNodeWalks);
        }
        else
        {
            var due = _liveness.TakeDue(Now.UtcTicks);
            var looked = new List<NodeInfo>(due.Count);
            foreach (var id in due)
                if (snapshot!.Nodes.TryGetValue(id, out var node)) looked.Add(node);
            looked.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            nodes = looked;
        }
        var events = new List<ClusterEvent>(); // appended together: a zone lost at once is one write, not one per node
        foreach (var node in nodes)
        {
            var liveness = _detector.Inspect(node.Id);
            var state = LiveState(node, liveness.State);
            Term?.Planner?.NoteLiveness(node.Id, state);
            _observedLiveness[node.Id] = liveness.State;
            _liveness.Seen(node.Id, liveness.State == NodeState.Alive ? AliveUntil(node.Id) : null);
            var first = !_observedState.TryGetValue(node.Id, out var previous);
            _observedState[node.Id] = state;
            var unreachable = state is NodeState.Down or NodeState.Left;
            if (!unreachable) _unreachableSince.Remove(node.Id);
            if (first)
            {
                // A new node (or the first look after a restart): no event, but a node that is already gone still
                // needs its failover, and one with room lets pending placements try again at once.
                if (unreachable) _unreachableSince[node.Id] = (Now, NewIncidentId());
                else RetryPlacementsNow();
                continue;
            }
            if (state == previous) continue;
            RecordTransition(node, previous, state, liveness, events);
        }
        await RecordAllAsync(events, ct);
        if (!all) return null;
        if (_observedState.Count != nodes.Count)
        {
            var known = new HashSet<string>(nodes.Select(n => n.Id), StringComparer.Ordinal);
            foreach (var gone in _observedState.Keys.Where(id => !known.Contains(id)).ToList())
            {
                _observedState.Remove(gone);
                _observedLiveness.TryRemove(gone, out _);
                _unreachableSince.Remove(gone);
                _liveness.Forget(gone);
            }
        }
        return nodes;
    }

    /// <summary>Until when a node stays Alive without a call (UTC ticks), or null when the detector cannot tell (it is then looked at every time).</summary>
    private long? AliveUntil(string nodeId) =>
        (_detector as FailureDetection.NodeFailureDetector)?.AliveAtLeastUntil(nodeId)?.UtcTicks;

    /// <summary>Which nodes the next pass and check must read; touched by every call that can change a node's live state.</summary>
    private readonly LivenessWatch _liveness = new();
    /// <summary>1 when the next pass must look at every node (liveness was given afresh to all of them).</summary>
    private int _walkAllNodes;
    private ClusterSnapshot.NodeOrder? _walkedOrder;
    private DateTimeOffset _lastNodeWalk = DateTimeOffset.MinValue;
    private long _fullNodeWalks;

    /// <summary>Passes that looked at every node (for tests and benchmarks).</summary>
    internal long FullNodeWalks => Interlocked.Read(ref _fullNodeWalks);

    private void RecordTransition(NodeInfo node, NodeState previous, NodeState state, Membership.NodeLiveness liveness, List<ClusterEvent> events)
    {
        var silence = liveness.SinceLastHeartbeat is { } s ? Seconds(s) : "ever";
        var phi = double.IsFinite(liveness.Phi) ? liveness.Phi.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) : "∞";
        switch (state)
        {
            case NodeState.Down:
            {
                var incident = NewIncidentId();
                _unreachableSince[node.Id] = (Now, incident);
                events.Add(NewEvent(EventKinds.NodeDown, node.Name, $"{node.Name} is down: no heartbeat for {silence} (φ {phi})", node: node.Name, incident: incident));
                Log.NodeDown(_logger, node.Name, silence, phi);
                _metrics?.NodeDown();
                break;
            }
            case NodeState.Left:
            {
                var incident = NewIncidentId();
                _unreachableSince[node.Id] = (Now, incident);
                events.Add(NewEvent(EventKinds.NodeLeft, node.Name, $"{node.Name} left the cluster", node: node.Name, incident: incident));
                Log.NodeLeft(_logger, node.Name);
                break;
            }
            case NodeState.Suspect:
                events.Add(NewEvent(EventKinds.NodeSuspect, node.Name, $"{node.Name} is late: no heartbeat for {silence} (φ {phi}); no new work goes there", node: node.Name));
                break;
            case NodeState.Alive or NodeState.Draining when previous is NodeState.Suspect or NodeState.Down or NodeState.Left:
                events.Add(NewEvent(EventKinds.NodeAlive, node.Name, previous == NodeState.Suspect
                    ? $"{node.Name} is reporting on time again"
                    : $"{node.Name} is back after being {NameOf(previous)}; instances moved away meanwhile are stopped on it", node: node.Name));
                RetryPlacementsNow();
                break;
        }
    }

    /// <summary>A node with room appeared or came back: pending placements should not wait out their backoff.</summary>
    private void RetryPlacementsNow()
    {
        foreach (var retry in _placementRetries.Values) retry.NextAt = Now;
        foreach (var (id, retry) in _moveRetries) _moveRetries[id] = (Now, retry.Reason);
    }

    private async Task HandleUnreachableNodesAsync(Dictionary<string, List<PendingWork>> pending, CancellationToken ct)
    {
        if (_unreachableSince.Count == 0) return;
        // In name order, as a walk over every node would meet them (events and placements in a repeatable order).
        var nodes = new List<NodeInfo>(_unreachableSince.Count);
        foreach (var id in _unreachableSince.Keys)
            if (await Store.FindNodeAsync(id, ct) is { } found && found.Id == id) nodes.Add(found);
        nodes.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        var services = await ServicesByNameAsync(ct);
        var interval = await HeartbeatIntervalAsync(ct);
        // Every instance of every unreachable node is marked in one batch of writes and one of events.
        var marks = new List<ServiceInstance>();
        var events = new List<ClusterEvent>();
        foreach (var node in nodes)
        {
            if (!_unreachableSince.TryGetValue(node.Id, out var down)) continue;
            var silence = _detector.Inspect(node.Id).SinceLastHeartbeat ?? TimeSpan.MaxValue;
            var what = _observedState.GetValueOrDefault(node.Id) == NodeState.Left ? "left" : "down";
            foreach (var instance in await Store.ListInstancesAsync(nodeId: node.Id, cancellationToken: ct))
            {
                if (instance.IsTerminal || !services.TryGetValue(instance.Service, out var service)) continue;
                var spec = service.Spec;
                if (!spec.Failover.Enabled)
                {
                    MarkUnknown(instance, node, $"node {node.Name} is {what}; failover \"never\" keeps it there until the node is back", down.Incident, marks, events);
                    continue;
                }
                var due = down.At + spec.Failover.Delay;
                var why = spec.Failover.Delay > TimeSpan.Zero ? $"the failover delay of {Seconds(spec.Failover.Delay)}" : "";
                if (spec.IsFencedSingleton && _options.FencingLease > TimeSpan.Zero)
                {
                    // The agent stops its copy by itself once the lease runs out; start the new one only after that.
                    // The lease is the one it was told, longer than configured in a cluster large enough to slow heartbeats.
                    var lease = LeaseHeldBy(node.Id, interval);
                    var fenceWait = lease + _options.FencingMargin - silence;
                    if (Now + fenceWait > due)
                    {
                        due = Now + fenceWait;
                        why = $"its fencing lease of {Seconds(lease)} to run out, so the old copy has stopped";
                    }
                }
                if (Now < due)
                {
                    MarkUnknown(instance, node, $"node {node.Name} is {what}; moving it once {why}", down.Incident, marks, events);
                    AddPending(pending, spec.Name, new PendingWork("failover", 1, $"{instance.Id}: node {node.Name} is {what}; waiting for {why}", 0, due));
                    DueAt(due);
                    continue;
                }
                marks.Add(instance with
                {
                    State = InstanceState.Lost, Reason = $"node {node.Name} is {what}", UpdatedAt = Now, Incident = down.Incident,
                });
                events.Add(NewEvent(EventKinds.InstanceLost, instance.Service, $"{instance.Id} lost: node {node.Name} is {what}",
                    instance.Service, node.Name, instance.Id, down.Incident));
            }
        }
        if (marks.Count > 0) await Store.UpsertInstancesAsync(marks, ct);
        await RecordAllAsync(events, ct);
    }

    private void MarkUnknown(ServiceInstance instance, NodeInfo node, string reason, string incident, List<ServiceInstance> marks, List<ClusterEvent> events)
    {
        if (instance.State == InstanceState.Unknown) return;
        marks.Add(instance with { State = InstanceState.Unknown, Reason = reason, UpdatedAt = Now, Incident = incident });
        events.Add(NewEvent("instance.unknown", instance.Service, $"{instance.Id}: {reason}", instance.Service, node.Name, instance.Id, incident));
    }

    private static string NameOf(NodeState state) => state.ToString().ToLowerInvariant();
}
