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
