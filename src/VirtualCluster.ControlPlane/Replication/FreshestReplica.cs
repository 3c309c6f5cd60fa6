using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Replication;

/// <summary>The holder whose replicas of every replicated volume are the newest, and the sync each volume is at there.</summary>
/// <param name="Holder">Its node id.</param>
/// <param name="Syncs">The last completed sync of each replicated volume on it.</param>
/// <param name="TakenAt">When the oldest of those syncs started: every write before it is on the holder.</param>
internal sealed record FreshestReplica(string Holder, IReadOnlyList<VolumeSyncReport> Syncs, DateTimeOffset TakenAt)
{
    /// <summary>
    /// Among the holders <paramref name="usable"/> says can take the instance, the one whose oldest completed sync
    /// over the replicated volumes of <paramref name="spec"/> is the newest; null when none holds a completed sync of
    /// every such volume. Times compare across holders because the same agent clock stamped them all.
    /// </summary>
    public static FreshestReplica? Find(ServiceSpec spec, ServiceInstance lost, Func<string, bool> usable)
    {
        if (lost.Syncs is not { Count: > 0 } syncs || lost.ReplicaHolders is not { Count: > 0 } holders) return null;
        var volumes = spec.Volumes.Where(v => v.Replicas > 0).Select(v => v.Name).ToList();
        FreshestReplica? best = null;
        foreach (var holder in holders.Where(usable))
        {
            var mine = new List<VolumeSyncReport>(volumes.Count);
            foreach (var volume in volumes)
            {
                var sync = syncs.FirstOrDefault(s => s.Holder == holder && s.Volume == volume && s.Epoch == lost.Epoch && s.Sequence > 0 && s.LastSyncAt is not null);
                if (sync is null) break;
                mine.Add(sync);
            }
            if (mine.Count != volumes.Count || mine.Count == 0) continue;
            var takenAt = mine.Min(s => s.LastSyncAt!.Value);
            if (best is null || takenAt > best.TakenAt) best = new FreshestReplica(holder, mine, takenAt);
        }
        return best;
    }
}
