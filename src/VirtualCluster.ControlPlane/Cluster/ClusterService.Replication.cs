using System.Collections.Concurrent;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Replication;
using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Cluster;

// Replicated volumes (issue 16): holders per instance, syncs reported by agents, failover onto the freshest replica.
public sealed partial class ClusterService
{
    private const int MaxReportedSyncs = 64;

    /// <summary>The latest sync reports per instance, lag included (only changes of completed syncs are stored).</summary>
    private readonly ConcurrentDictionary<string, IReadOnlyList<VolumeSyncReport>> _liveSyncs = new(StringComparer.Ordinal);

    /// <summary>Nodes that may hold replicas now: alive, with a replica server.</summary>
    private List<NodeInfo> ReplicaCapable(IEnumerable<NodeInfo> nodes) =>
        nodes.Where(n => n.ReplicaPort is > 0 && LiveState(n) == NodeState.Alive).ToList();

    /// <summary>
    /// The volume set and holders of a new instance. A failover replacement placed on a holder with a completed sync
    /// of every replicated volume of the instance it replaces inherits its volume set (it starts on that replica, see
    /// <see cref="VolumeFailoverEvent"/>) and keeps its other holders; any other new instance starts a volume set of
    /// its own, so an empty or unsynced volume never overwrites, with its newer epoch, replicas of data it does not have.
    /// </summary>
    private ServiceInstance WithReplication(ServiceInstance instance, ServiceSpec spec, PlannedInstance planned, IReadOnlyCollection<NodeInfo> nodes)
    {
        if (spec.VolumeReplicas == 0) return instance;
        var replaced = planned.Replaces;
        var inherit = planned.RemoveReplaced && replaced?.VolumeSet is not null
            && FreshestReplica.Find(spec, replaced, h => h == instance.NodeId) is not null;
        var set = inherit ? replaced!.VolumeSet! : instance.Id;
        var holders = ReplicaHolderChooser.Choose(instance.NodeId, spec.VolumeReplicas, inherit ? replaced!.ReplicaHolders! : [], ReplicaCapable(nodes));
        return instance with { VolumeSet = set, ReplicaHolders = holders };
    }

    /// <summary>
    /// Gives every live instance of a service with replicated volumes its holders: a holder that went down or left
    /// is replaced, missing ones are added when nodes join. Holders that are only suspect stay (they may be back).
    /// </summary>
    private async Task RepairReplicaHoldersAsync(Func<ValueTask<IReadOnlyList<NodeInfo>>> allNodes, CancellationToken ct)
    {
        var services = await ServicesByNameAsync(ct);
        if (!services.Values.Any(s => s.Spec.VolumeReplicas > 0)) return;
        var nodes = await allNodes();
        var capable = ReplicaCapable(nodes);
        var instances = await Store.ListInstancesAsync(cancellationToken: ct);
        var live = instances.Where(i => !i.IsTerminal).Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _liveSyncs.Keys.Where(id => !live.Contains(id)).ToList()) _liveSyncs.TryRemove(gone, out _);
        var kept = nodes.Where(n => n.ReplicaPort is > 0 && LiveState(n) is NodeState.Alive or NodeState.Suspect or NodeState.Draining).ToList();
        foreach (var instance in instances)
        {
            if (instance.IsTerminal || !services.TryGetValue(instance.Service, out var service) || service.Spec.VolumeReplicas == 0) continue;
            var want = service.Spec.VolumeReplicas;
            var current = instance.ReplicaHolders ?? [];
            var keep = current.Where(h => h != instance.NodeId && kept.Any(n => n.Id == h)).ToList();
            if (instance.VolumeSet is not null && keep.Count == current.Count && (current.Count >= want || current.Count >= capable.Count(n => n.Id != instance.NodeId)))
                continue;
            var chosen = ReplicaHolderChooser.Choose(instance.NodeId, want, keep, [.. capable, .. kept.Where(k => keep.Contains(k.Id) && !capable.Contains(k))]);
            if (instance.VolumeSet is not null && chosen.SequenceEqual(current)) continue;
            await Store.UpsertInstanceAsync(instance with { VolumeSet = instance.VolumeSet ?? instance.Id, ReplicaHolders = chosen }, ct);
            Log.ReplicaHolders(_logger, instance.Id, string.Join(", ", chosen.Select(h => nodes.FirstOrDefault(n => n.Id == h)?.Name ?? h)));
        }
    }

    /// <summary>
    /// The sync reports of an instance worth keeping: its replicated volumes, its current holders, its epoch, sane
    /// numbers (hostile or buggy agents send anything). Null when there are none.
    /// </summary>
    private static List<VolumeSyncReport>? ReadSyncs(ServiceInstance stored, ServiceSpec? spec, IReadOnlyList<VolumeSyncReport>? reported)
    {
        if (reported is not { Count: > 0 } || spec is null || stored.ReplicaHolders is not { Count: > 0 } holders) return null;
        var volumes = spec.Volumes.Where(v => v.Replicas > 0).Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
        var kept = new List<VolumeSyncReport>();
        foreach (var s in reported.Take(MaxReportedSyncs))
        {
            if (s?.Volume is null || s.Holder is null || !volumes.Contains(s.Volume) || !holders.Contains(s.Holder) || s.Epoch != stored.Epoch) continue;
            if (s.Sequence < 0 || !double.IsFinite(s.LagSeconds) || s.LagSeconds < 0 || s.BytesBehind < 0) continue;
            if (kept.Any(k => k.Volume == s.Volume && k.Holder == s.Holder)) continue;
            kept.Add(s with { LastError = s.LastError is { Length: > 512 } e ? e[..512] : s.LastError });
        }
        return kept.Count > 0 ? kept : null;
    }

    /// <summary>True when two lists hold the same completed syncs (lag and bytes behind change all the time and are not stored).</summary>
    private static bool SameCompletedSyncs(IReadOnlyList<VolumeSyncReport>? a, IReadOnlyList<VolumeSyncReport>? b)
    {
        if ((a?.Count ?? 0) != (b?.Count ?? 0)) return false;
        if (a is null || b is null) return true;
        return a.All(x => b.Any(y => y.Volume == x.Volume && y.Holder == x.Holder && y.Epoch == x.Epoch && y.Sequence == x.Sequence
            && y.LastSyncAt == x.LastSyncAt && y.LastError == x.LastError));
    }

    /// <summary>The holders an agent replicates an instance's volumes to, with where to reach them.</summary>
    private static IReadOnlyList<ReplicaHolder>? HoldersFor(ServiceInstance instance, IReadOnlyDictionary<string, NodeInfo> nodes) =>
        instance.ReplicaHolders is not { Count: > 0 } holders ? null
            : holders.Select(h => nodes.GetValueOrDefault(h)).Where(n => n?.ReplicaPort is > 0)
                .Select(n => new ReplicaHolder(n!.Id, n.Address, n.ReplicaPort!.Value)).ToList();

    /// <summary>Per volume and holder of an instance: the last completed sync and the lag, live when this control plane heard it.</summary>
    private IReadOnlyList<ReplicaView>? ReplicaViews(ServiceInstance instance, IReadOnlyDictionary<string, NodeInfo> nodes, ServiceSpec spec)
    {
        if (spec.VolumeReplicas == 0 || instance.IsTerminal) return null;
        var reports = _liveSyncs.TryGetValue(instance.Id, out var live) ? live : instance.Syncs ?? [];
        var views = new List<ReplicaView>();
        foreach (var volume in spec.Volumes.Where(v => v.Replicas > 0))
            foreach (var holder in instance.ReplicaHolders ?? [])
            {
                var name = nodes.GetValueOrDefault(holder)?.Name ?? holder;
                var r = reports.FirstOrDefault(s => s.Volume == volume.Name && s.Holder == holder);
                views.Add(r is null ? new ReplicaView(volume.Name, name, 0, null, 0, 0, "no sync reported yet")
                    : new ReplicaView(volume.Name, name, r.Sequence, r.LastSyncAt, r.LagSeconds, r.BytesBehind, r.LastError));
            }
        return views;
    }

    /// <summary>
    /// Where the replacement of a lost instance with replicated volumes should go: the holder with the newest
    /// completed sync, if it has room for the service. Null when no holder fits (the usual placement then decides).
    /// </summary>
    private async Task<Placement?> PlaceOnFreshestReplicaAsync(ServiceSpec spec, ServiceInstance lost, CancellationToken ct)
    {
        if (spec.VolumeReplicas == 0) return null;
        var candidates = await BuildCandidatesAsync(ct);
        var fits = new Dictionary<string, Placement>(StringComparer.Ordinal);
        foreach (var holder in lost.ReplicaHolders ?? [])
        {
            var on = candidates.Where(c => c.Node.Id == holder).ToList();
            if (on.Count == 0) continue;
            var result = _scheduler.Place(new PlacementRequest(spec, 1, on));
            if (result.Succeeded) fits[holder] = result.Placements[0];
        }
        return FreshestReplica.Find(spec, lost, fits.ContainsKey) is { } freshest ? fits[freshest.Holder] : null;
    }

    /// <summary>
    /// Records where a failover replacement's data comes from: the sync of the replica it starts on, or that it
    /// starts empty (no holder with a completed sync had room) while the replicas stay on their holders.
    /// </summary>
    private ClusterEvent? VolumeFailoverEvent(ServiceSpec spec, ServiceInstance replacement, ServiceInstance? previous, string nodeName)
    {
        if (spec.VolumeReplicas == 0 || previous?.VolumeSet is null) return null;
        if (replacement.VolumeSet != previous.VolumeSet)
            return NewEvent(EventKinds.VolumeNotRestored, spec.Name,
                $"{replacement.Id} on {nodeName} starts with empty volumes: {nodeName} holds no completed sync of {previous.Id}'s volumes (no holder that does had room); the replicas stay on their holders (volume set {previous.VolumeSet})",
                spec.Name, nodeName, replacement.Id, previous.Incident);
        var syncs = FreshestReplica.Find(spec, previous, h => h == replacement.NodeId)?.Syncs ?? [];
        var parts = syncs.Select(s => $"{s.Volume} at sync {s.Sequence} of epoch {s.Epoch} taken {s.LastSyncAt:HH:mm:ss.fff}, {(Now - s.LastSyncAt!.Value).TotalSeconds:0.0} s before this placement");
        // The replica may hold a later sync that completed after the agent's last report; never an earlier one.
        var what = "from " + string.Join("; ", parts) + " (the last one reported; a later one may have completed since)";
        return NewEvent(EventKinds.VolumeRestored, spec.Name, $"{replacement.Id} on {nodeName} starts on the replica of {previous.Id} {what}",
            spec.Name, nodeName, replacement.Id, previous.Incident);
    }
}
