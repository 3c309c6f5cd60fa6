namespace VirtualCluster.Membership;

/// <summary>What a failure detector knows about one node at one moment.</summary>
/// <param name="State">Alive, Suspect, Down or Left (see <see cref="IFailureDetector.GetState"/>).</param>
/// <param name="Phi">
/// Suspicion level: for accrual detectors, φ = −log10 of the probability that a heartbeat this late would still
/// arrive; 0 for detectors without a suspicion level, or for a node that left; <see cref="double.PositiveInfinity"/>
/// for a node never heard of.
/// </param>
/// <param name="SinceLastHeartbeat">Time since the last heartbeat, or null for a node never heard of.</param>
public sealed record NodeLiveness(NodeState State, double Phi, TimeSpan? SinceLastHeartbeat);

/// <summary>
/// Decides from heartbeat arrivals whether a node is alive. Implementations read time from a
/// <see cref="TimeProvider"/> and are safe to call from many threads.
/// </summary>
/// <remarks>
/// A node moves Alive → Suspect → Down as its silence grows, and back to Alive on its next heartbeat.
/// A node that was Down or Left and sends a heartbeat again starts afresh (earlier arrival statistics are
/// dropped), because its downtime says nothing about how regularly it reports.
/// </remarks>
public interface IFailureDetector
{
    /// <summary>Records a heartbeat from <paramref name="nodeId"/> now.</summary>
    void Heartbeat(string nodeId);

    /// <summary>
    /// Records a heartbeat from <paramref name="nodeId"/> now, after which the node was told to wait
    /// <paramref name="nextInterval"/> before its next one (a control plane lengthens the interval as the cluster
    /// grows). A node told to slow down must not be declared down for it: detectors judge the silence that follows
    /// against this interval. The default ignores it (for detectors with a fixed timeout longer than any interval).
    /// </summary>
    void Heartbeat(string nodeId, TimeSpan nextInterval) => Heartbeat(nodeId);

    /// <summary>
    /// Alive, Suspect or Down for a node that sent heartbeats; Left after <see cref="Leave"/> until its next
    /// heartbeat; Down for a node never heard of.
    /// </summary>
    NodeState GetState(string nodeId);

    /// <summary>State, suspicion level and silence of a node, read at one instant.</summary>
    NodeLiveness Inspect(string nodeId);

    /// <summary>Marks a node as gone on purpose: it is Left (not Down) until it sends a heartbeat again.</summary>
    void Leave(string nodeId);

    /// <summary>Forgets a node entirely; it reads as never heard of.</summary>
    void Remove(string nodeId);
}
