namespace VirtualCluster.Membership;

/// <summary>
/// Decides from heartbeat arrivals whether a node is alive. Implementations use a <see cref="TimeProvider"/>
/// and are safe to call from many threads.
/// </summary>
public interface IFailureDetector
{
    /// <summary>Records a heartbeat from <paramref name="nodeId"/> now.</summary>
    void Heartbeat(string nodeId);

    /// <summary>Alive, Suspect or Down for a node that sent heartbeats; Down for a node never heard of.</summary>
    NodeState GetState(string nodeId);

    /// <summary>Forgets a node (it left).</summary>
    void Remove(string nodeId);
}

/// <summary>A member of the cluster as a membership provider knows it.</summary>
public sealed record MemberInfo(string NodeId, string Name, string Address, NodeState State, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// Who is in the cluster. The embedded provider derives members from agent heartbeats; Consul and etcd providers
/// register members with a TTL. <see cref="ListAsync"/> never returns a member twice.
/// </summary>
public interface IMembership
{
    /// <summary>Registers or renews a member.</summary>
    Task RegisterAsync(MemberInfo member, CancellationToken cancellationToken = default);

    /// <summary>Removes a member that leaves gracefully.</summary>
    Task DeregisterAsync(string nodeId, CancellationToken cancellationToken = default);

    /// <summary>Every known member with its current state.</summary>
    Task<IReadOnlyList<MemberInfo>> ListAsync(CancellationToken cancellationToken = default);
}
