namespace VirtualCluster;

/// <summary>Lifecycle of a node as the control plane sees it.</summary>
public enum NodeState
{
    /// <summary>Heartbeats arrive on time.</summary>
    Alive,
    /// <summary>Heartbeats are late; no new work is placed here, running work is left alone.</summary>
    Suspect,
    /// <summary>Declared dead; its instances are rescheduled elsewhere.</summary>
    Down,
    /// <summary>Left the cluster gracefully.</summary>
    Left,
    /// <summary>Being emptied before it leaves: no new work is placed here, its instances are moved elsewhere.</summary>
    Draining,
}

/// <summary>
/// A machine in the cluster as registered by its agent.
/// </summary>
/// <param name="Id">Stable identifier the control plane assigned at join.</param>
/// <param name="Name">Human name, unique in the cluster (defaults to the host name).</param>
/// <param name="Address">Host or IP at which the node's service ports are reachable.</param>
/// <param name="Capacity">Schedulable capacity.</param>
/// <param name="Usage">Last measured utilization (whole machine, not only our instances).</param>
/// <param name="Drivers">Workload drivers the agent can run ("process", "docker").</param>
/// <param name="Ports">Host ports the agent may hand to instances.</param>
/// <param name="Labels">Free-form labels used by placement constraints.</param>
/// <param name="State">Current lifecycle state.</param>
/// <param name="LastHeartbeat">When the last heartbeat arrived, or null if none since the control plane started.</param>
/// <param name="ReplicaPort">TCP port of the agent's replica server at <paramref name="Address"/> (replicated volumes); null when it runs none.</param>
public sealed record NodeInfo(
    string Id,
    string Name,
    string Address,
    Resources Capacity,
    ResourceUsage Usage,
    IReadOnlyList<string> Drivers,
    PortRange Ports,
    IReadOnlyDictionary<string, string> Labels,
    NodeState State,
    DateTimeOffset? LastHeartbeat,
    int? ReplicaPort = null);
