using VirtualCluster.Agent.Connection;

namespace VirtualCluster.Agent.Replication;

/// <summary>The agent's current identity (node id and machine token, renewed over time), for replication to present and check tokens with.</summary>
internal sealed class MachineIdentity
{
    private volatile AgentIdentity? _current;

    /// <summary>Null until the agent has joined.</summary>
    public AgentIdentity? Current
    {
        get => _current;
        set => _current = value;
    }
}
