using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Cluster;

public sealed partial class ClusterService
{
    private readonly HashSet<string> _nodesKnownDown = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _lastPlacementFailure = new(StringComparer.Ordinal);

    /// <summary>
    /// Gives every stored node a fresh grace period, as if it had just reported. Called at start-up so a
    /// restarted control plane does not declare every node down before agents had a chance to report.
    /// </summary>
    public async Task StartGracePeriodAsync(CancellationToken ct)
    {
        foreach (var node in await _store.ListNodesAsync(ct))
            if (node.State != NodeState.Left) _detector.Heartbeat(node.Id);
    }

    /// <summary>
    /// One pass of desired versus actual: instances on Down nodes become Lost, and services with fewer live
    /// instances than replicas get replacements. Healthy instances are never touched.
    /// </summary>
    public async Task ReconcileOnceAsync(CancellationToken ct)
    {
        await _placementLock.WaitAsync(ct);
        try
        {
            await MarkLostInstancesAsync(ct);
            await ReplaceMissingInstancesAsync(ct);
        }
        finally
        {
            _placementLock.Release();
        }
    }

    private async Task MarkLostInstancesAsync(CancellationToken ct)
    {
        foreach (var node in await _store.ListNodesAsync(ct))
        {
            var state = LiveState(node);
            if (state != NodeState.Down)
            {
                _nodesKnownDown.Remove(node.Id);
                continue;
            }
            if (_nodesKnownDown.Add(node.Id))
            {
                await RecordAsync("node.down", node.Name, $"{node.Name} is down: no heartbeat for {_options.DownAfter.TotalSeconds:0.#} s", ct);
                Log.NodeDown(_logger, node.Name);
                _metrics?.NodeDown();
            }
            foreach (var instance in await _store.ListInstancesAsync(nodeId: node.Id, cancellationToken: ct))
            {
                if (instance.IsTerminal) continue;
                await _store.UpsertInstanceAsync(instance with
                {
                    State = InstanceState.Lost, Reason = $"node {node.Name} is down", UpdatedAt = Now,
                }, ct);
                await RecordAsync("instance.lost", instance.Service, $"{instance.Id} lost: node {node.Name} is down", ct);
            }
        }
    }

    private async Task ReplaceMissingInstancesAsync(CancellationToken ct)
    {
        foreach (var service in await _store.ListServicesAsync(ct))
        {
            var spec = service.Spec;
            var instances = await _store.ListInstancesAsync(service: spec.Name, cancellationToken: ct);
            // Failed and exited instances keep their slot so a crashing service is shown, not re-placed in a loop.
            var occupying = instances.Count(i => i.State is not (InstanceState.Lost or InstanceState.Stopped));
            var missing = spec.Replicas - occupying;
            if (missing <= 0) continue;

            var result = _scheduler.Place(new PlacementRequest(spec, missing, await BuildCandidatesAsync(ct)));
            if (!result.Succeeded)
            {
                var message = result.Failure!.Message;
                if (!_lastPlacementFailure.TryGetValue(spec.Name, out var last) || last != message)
                {
                    _lastPlacementFailure[spec.Name] = message;
                    await RecordAsync("service.pending", spec.Name, $"{missing} instance(s) waiting for room: {message}", ct);
                }
                continue;
            }
            _lastPlacementFailure.Remove(spec.Name);
            _metrics?.Placed(result.Placements.Count, "replace");
            foreach (var instance in await NewInstancesAsync(spec.Name, result.Placements, ct))
            {
                await _store.UpsertInstanceAsync(instance, ct);
                await RecordAsync("instance.placed", spec.Name, $"{instance.Id} placed on {instance.NodeId} to restore {spec.Replicas} replica(s)", ct);
            }
            // Replaced lost records are history now; the event log keeps it.
            foreach (var lost in instances.Where(i => i.State == InstanceState.Lost).Take(result.Placements.Count))
                await _store.DeleteInstanceAsync(lost.Id, ct);
        }
    }
}
