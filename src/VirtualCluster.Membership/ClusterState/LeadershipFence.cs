using VirtualCluster.Store;

namespace VirtualCluster.Membership.ClusterState;

/// <summary>
/// The leadership that writes to a <see cref="KvClusterStore"/> must still hold. The process that wins an
/// election sets it; when leadership ends it clears it. Every fenced write carries
/// <see cref="Leadership.Fence"/> as a transaction condition, so a deposed leader's writes are refused by the
/// store itself even if the process has not noticed yet.
/// </summary>
public sealed class LeadershipFence
{
    private volatile Leadership? _current;

    /// <summary>The leadership writes are fenced with, or null while this process is not the leader.</summary>
    public Leadership? Current => _current;

    /// <summary>Sets (or clears, with null) the leadership.</summary>
    public void Set(Leadership? leadership) => _current = leadership;

    /// <summary>The condition for the next write.</summary>
    /// <exception cref="NotLeaderException">This process is not the leader.</exception>
    public KvCondition Condition() =>
        _current?.Fence ?? throw new NotLeaderException("This control plane is not the leader; only the leader writes the cluster state.");
}
