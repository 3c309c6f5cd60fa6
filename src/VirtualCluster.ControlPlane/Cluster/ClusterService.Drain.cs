using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Cluster;

// Drain (move everything off a node before it leaves), cancel, and leave.
public sealed partial class ClusterService
{
    /// <summary>Incident per draining node, shared by the events of its moves; under the placement lock.</summary>
    private readonly Dictionary<string, string> _drainIncidents = new(StringComparer.Ordinal);
    /// <summary>Draining nodes whose completion was recorded; under the placement lock.</summary>
    private readonly HashSet<string> _drainsAnnounced = new(StringComparer.Ordinal);
    /// <summary>Next placement attempt per instance being moved after a failed attempt, and why it failed; read by status views.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (DateTimeOffset At, string Reason)> _moveRetries = new(StringComparer.Ordinal);

    /// <summary>
    /// Starts draining a node: no new work goes there, and every instance that may move is replaced elsewhere
    /// (start new, wait until it is healthy, stop old). Instances of services with failover "never" stay.
    /// Draining a draining node only returns its progress.
    /// </summary>
    /// <param name="idOrName">Node id or name.</param>
    /// <param name="callerNodeId">The node id of a machine token (an agent draining itself), or null for an admin.</param>
    public async Task<AgentOutcome<DrainStatus>> DrainAsync(string idOrName, string? callerNodeId, CancellationToken ct)
    {
        await _placementLock.WaitAsync(ct);
        try
        {
            var node = await Store.FindNodeAsync(idOrName, ct);
            if (node is null) return NoSuchNode(idOrName);
            if (callerNodeId is not null && callerNodeId != node.Id)
                return new(403, null, new ApiError($"this machine token belongs to another node; an agent can only drain itself"));
            var state = LiveState(node);
            if (state is NodeState.Down or NodeState.Left)
                return new(409, null, new ApiError($"node {node.Name} is {NameOf(state)}; there is nothing to drain (its instances fail over instead)"));
            var wasDraining = node.State == NodeState.Draining;
            node = await UpdateNodeAsync(node.Id, n => n is null || n.State == NodeState.Draining ? n : n with { State = NodeState.Draining }, ct) ?? node;
            if (!wasDraining)
            {
                var incident = NewIncidentId();
                _drainIncidents[node.Id] = incident;
                _drainsAnnounced.Remove(node.Id);
                await RecordAsync(EventKinds.NodeDraining, node.Name,
                    $"draining {node.Name}{(callerNodeId is null ? "" : " (its agent is shutting down)")}: its instances are moved elsewhere", ct,
                    node: node.Name, incident: incident);
                Log.Draining(_logger, node.Name);
                Wake();
            }
            return new(202, await DrainStatusAsync(node with { State = NodeState.Draining }, ct), null);
        }
        finally
        {
            _placementLock.Release();
        }
    }

    /// <summary>Stops draining: the node takes work again, and replacements not yet healthy are removed (moved ones stay moved).</summary>
    public async Task<AgentOutcome<DrainStatus>> CancelDrainAsync(string idOrName, CancellationToken ct)
    {
        await _placementLock.WaitAsync(ct);
        try
        {
            var node = await Store.FindNodeAsync(idOrName, ct);
            if (node is null) return NoSuchNode(idOrName);
            if (node.State != NodeState.Draining)
                return new(409, null, new ApiError($"node {node.Name} is not draining"));
            await UpdateNodeAsync(node.Id, n => n is { State: NodeState.Draining } ? n with { State = NodeState.Alive } : n, ct);
            var onNode = (await Store.ListInstancesAsync(nodeId: node.Id, cancellationToken: ct)).Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
            foreach (var move in (await Store.ListInstancesAsync(cancellationToken: ct)).Where(i => i.Replaces is { } r && onNode.Contains(r)))
                await Store.DeleteInstanceAsync(move.Id, ct);
            _drainIncidents.Remove(node.Id);
            _drainsAnnounced.Remove(node.Id);
            await RecordAsync(EventKinds.NodeDrainCancelled, node.Name, $"drain of {node.Name} cancelled; it takes new work again", ct, node: node.Name);
            return new(200, new DrainStatus(node.Name, true, []), null);
        }
        finally
        {
            _placementLock.Release();
        }
    }

    /// <summary>Progress of a drain, or 404 for an unknown node and 409 for a node that is not draining.</summary>
    public async Task<AgentOutcome<DrainStatus>> GetDrainAsync(string idOrName, CancellationToken ct)
    {
        var node = await Store.FindNodeAsync(idOrName, ct);
        if (node is null) return NoSuchNode(idOrName);
        if (node.State != NodeState.Draining) return new(409, null, new ApiError($"node {node.Name} is not draining; start with `vcluster drain {node.Name}`"));
        return new(200, await DrainStatusAsync(node, ct), null);
    }

    /// <summary>
    /// A node leaves on purpose (its agent is shutting down, after draining): it is Left, not Down, and what
    /// still runs there fails over. The caller has checked that the machine token belongs to this node.
    /// </summary>
    public async Task<AgentOutcome<NodeInfo>> LeaveAsync(string nodeId, CancellationToken ct)
    {
        var left = await UpdateNodeAsync(nodeId, n => n is null ? null : n with { State = NodeState.Left }, ct);
        if (left is null) return new(404, null, new ApiError($"node {nodeId} is not registered here"));
        _detector.Leave(nodeId);
        _liveness.Touch(nodeId);
        Wake();
        return new(200, left, null);
    }

    /// <summary>The node with this id or name, or null.</summary>
    public Task<NodeInfo?> FindNodeAsync(string idOrName, CancellationToken ct) => Store.FindNodeAsync(idOrName, ct);

    private static AgentOutcome<DrainStatus> NoSuchNode(string idOrName) =>
        new(404, null, new ApiError($"no node named \"{idOrName}\"; `vcluster nodes` lists them"));

    /// <summary>What is left on a draining node and where each instance stands.</summary>
    private async Task<DrainStatus> DrainStatusAsync(NodeInfo node, CancellationToken ct)
    {
        var services = await ServicesByNameAsync(ct);
        var all = await Store.ListInstancesAsync(cancellationToken: ct);
        var items = new List<DrainItem>();
        // A stopped instance that moves with its replicated volumes counts until its replacement takes its record over.
        foreach (var instance in all.Where(i => i.NodeId == node.Id && (!i.IsTerminal || i is { MoveRequested: true, State: InstanceState.Stopped }))
                     .OrderBy(i => i.Id, StringComparer.Ordinal))
        {
            if (!services.TryGetValue(instance.Service, out var service)) continue;
            if (!service.Spec.Failover.Enabled)
            {
                items.Add(new DrainItem(instance.Id, instance.Service, "blocked", "failover \"never\": it stays on this node"));
                continue;
            }
            if (instance.MoveRequested)
            {
                items.Add(new DrainItem(instance.Id, instance.Service, "moving", "stopping for a final sync of its replicated volumes; its replacement starts on that replica"));
                continue;
            }
            var move = all.FirstOrDefault(i => i.Replaces == instance.Id && !i.IsTerminal);
            if (move is not null)
                items.Add(new DrainItem(instance.Id, instance.Service, "moving", $"{move.Id} is {Words(move.State)} on {await NodeNameAsync(move.NodeId, ct)}"));
            else if (_moveRetries.TryGetValue(instance.Id, out var retry))
                items.Add(new DrainItem(instance.Id, instance.Service, "waiting", retry.Reason));
            else
                items.Add(new DrainItem(instance.Id, instance.Service, "queued", "a replacement will be placed"));
        }
        return new DrainStatus(node.Name, items.All(i => i.Status == "blocked"), items);
    }

    /// <summary>
    /// A move of an instance with replicated volumes breaks before it makes: its agent stops it and syncs its volumes
    /// one last time, then reports it Stopped, and the replacement of missing replicas (the same path as a failover)
    /// starts it on the holder of that final sync. A copy started first would write beside the old one and start on an
    /// older replica (or empty), so writes of the last seconds would be lost.
    /// </summary>
    private async Task MoveStatefulAsync(NodeInfo node, ServiceInstance instance, ServiceSpec spec, string incident, CancellationToken ct)
    {
        if (instance.MoveRequested) return; // waiting for its agent's final sync and Stopped report
        await Store.UpsertInstanceAsync(instance with { MoveRequested = true, Incident = incident }, ct);
        await RecordAsync(EventKinds.InstanceMoving, spec.Name,
            $"{instance.Id} stops on draining {node.Name} for a final sync of its replicated volumes; its replacement starts on that replica", ct,
            spec.Name, node.Name, instance.Id, incident);
    }

    /// <summary>One step of every drain: place missing replacements, and stop each instance whose replacement is healthy.</summary>
    private async Task AdvanceDrainsAsync(IReadOnlyList<NodeInfo> nodes, Dictionary<string, List<PendingWork>> pending, CancellationToken ct)
    {
        var draining = nodes.Where(n => n.State == NodeState.Draining && LiveState(n) == NodeState.Draining).ToList();
        foreach (var stale in _drainIncidents.Keys.Where(id => draining.All(n => n.Id != id)).ToList()) _drainIncidents.Remove(stale);
        _drainsAnnounced.RemoveWhere(id => draining.All(n => n.Id != id));
        if (draining.Count == 0)
        {
            _moveRetries.Clear();
            return;
        }
        var services = await ServicesByNameAsync(ct);
        foreach (var node in draining)
        {
            if (!_drainIncidents.TryGetValue(node.Id, out var incident)) _drainIncidents[node.Id] = incident = NewIncidentId();
            foreach (var instance in await Store.ListInstancesAsync(nodeId: node.Id, cancellationToken: ct))
            {
                if (instance.IsTerminal || !services.TryGetValue(instance.Service, out var service) || !service.Spec.Failover.Enabled) continue;
                await MoveAsync(node, instance, service.Spec, incident, pending, ct);
            }
            var status = await DrainStatusAsync(node, ct);
            if (status.Complete && _drainsAnnounced.Add(node.Id))
            {
                var blocked = status.Instances.Count == 0 ? "" : $"; {status.Instances.Count} instance(s) with failover \"never\" stay";
                await RecordAsync(EventKinds.NodeDrained, node.Name, $"{node.Name} is drained{blocked}", ct, node: node.Name, incident: incident);
            }
        }
    }

    private async Task MoveAsync(NodeInfo node, ServiceInstance instance, ServiceSpec spec, string incident, Dictionary<string, List<PendingWork>> pending, CancellationToken ct)
    {
        if (spec.VolumeReplicas > 0)
        {
            await MoveStatefulAsync(node, instance, spec, incident, ct);
            return;
        }
        var moves = (await Store.ListInstancesAsync(service: instance.Service, cancellationToken: ct)).Where(i => i.Replaces == instance.Id).ToList();
        foreach (var failed in moves.Where(m => m.IsTerminal))
        {
            // A replacement that failed is dropped and placed again after a backoff.
            await Store.DeleteInstanceAsync(failed.Id, ct);
            _moveRetries[instance.Id] = (Now + Backoff(2), $"replacement {failed.Id} {Words(failed.State)}: {failed.Reason}; trying again");
        }
        var move = moves.FirstOrDefault(m => !m.IsTerminal);
        if (move is null)
        {
            if (_moveRetries.TryGetValue(instance.Id, out var retry) && Now < retry.At)
            {
                DueAt(retry.At);
                return;
            }
            var service = await Store.GetServiceAsync(spec.Name, ct);
            if (service is null) return;
            var (result, outcome) = await PlanAndApplyAsync(async token =>
            {
                var placed = await PlaceAsync(spec, 1, null, token);
                return (placed, placed.Succeeded ? new Plan(spec, service, [new PlannedInstance(placed.Placements[0], instance, RemoveReplaced: false, incident)], Reserved: true) : null);
            }, ct);
            if (!result.Succeeded)
            {
                var attempt = _moveRetries.ContainsKey(instance.Id) ? 2 : 1;
                _moveRetries[instance.Id] = (Now + Backoff(attempt), "no node has room: " + result.Failure!.Message);
                DueAt(_moveRetries[instance.Id].At);
                await NotePlacementFailureAsync(spec, 1, result.Failure!.Message, pending, ct);
                return;
            }
            _moveRetries.TryRemove(instance.Id, out _);
            _metrics?.Placed(1, "drain");
            move = outcome!.Placed![0];
            var target = await NodeNameAsync(move.NodeId, ct);
            await RecordAsync(EventKinds.InstancePlaced, spec.Name, $"{move.Id} placed on {target} to move {instance.Id} off draining {node.Name}", ct,
                spec.Name, target, move.Id, incident);
            return;
        }
        if (move.State != InstanceState.Running) return;
        // Make before break: the new copy is healthy, so the old one can go; its agent stops it when it is no longer assigned.
        await Store.DeleteInstanceAsync(instance.Id, ct);
        _moveRetries.TryRemove(instance.Id, out _);
        var where = await NodeNameAsync(move.NodeId, ct);
        await RecordAsync(EventKinds.InstanceMoved, spec.Name, $"{instance.Id} moved off {node.Name}: {move.Id} runs on {where}", ct,
            spec.Name, node.Name, instance.Id, incident);
    }
}
