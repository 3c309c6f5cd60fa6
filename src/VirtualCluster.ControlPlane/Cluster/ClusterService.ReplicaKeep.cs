using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Cluster;

// Which replicas a holder must keep (issue 16): everything else on it may be collected.
public sealed partial class ClusterService
{
    /// <summary>
    /// The replica ids <paramref name="nodeId"/> holds for instances of services that still exist, whatever their
    /// state: a lost instance whose replacement is not placed yet keeps its replicas, and so does every instance that
    /// inherited a volume set. Sorted, so the answer is stable.
    /// </summary>
    public async Task<IReadOnlyList<string>> ReplicasToKeepAsync(string nodeId, CancellationToken ct)
    {
        var services = await ServicesByNameAsync(ct);
        var keep = new SortedSet<string>(StringComparer.Ordinal);
        if (!services.Values.Any(s => s.Spec.VolumeReplicas > 0)) return [];
        foreach (var instance in await Store.ListInstancesAsync(cancellationToken: ct))
        {
            if (instance.VolumeSet is not { } set || instance.ReplicaHolders?.Contains(nodeId) != true) continue;
            if (!services.TryGetValue(instance.Service, out var service)) continue;
            foreach (var volume in service.Spec.Volumes.Where(v => v.Replicas > 0)) keep.Add(ReplicaIds.For(set, volume.Name));
        }
        return [.. keep];
    }
}
