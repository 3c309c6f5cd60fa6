using VirtualCluster.Simulator.Scenarios;

namespace VirtualCluster.Simulator.Engine;

/// <summary>Whether a simulated agent can reach the control plane, and why not.</summary>
internal enum AgentStatus
{
    Up,
    Crashed,
    Paused,
    Partitioned,
}

/// <summary>A simulated node: what its agent runs and whether it reaches the control plane.</summary>
internal sealed class SimAgent(SimNode node, int index)
{
    public SimNode Node { get; } = node;
    public int Index { get; } = index;
    public string? NodeId { get; set; }
    public AgentStatus Status { get; set; } = AgentStatus.Crashed; // until it joins

    /// <summary>Grows with every crash, so that work scheduled for an earlier life of the agent is dropped.</summary>
    public long Life { get; set; }

    /// <summary>Grows with every heartbeat answer, so that a lease check for an older answer is dropped.</summary>
    public long LeaseRenewals { get; set; }

    /// <summary>When the last fault hit it, and which; for failover timelines.</summary>
    public (TimeSpan At, FaultKind Kind)? LastFault { get; set; }

    /// <summary>Instances the agent runs or starts, in the order it got them.</summary>
    public Dictionary<string, SimInstance> Instances { get; } = new(StringComparer.Ordinal);

    /// <summary>What its instances reserve (the spec's resources), for the capacity invariant.</summary>
    public Resources Held { get; set; }
}

/// <summary>An instance a simulated agent runs.</summary>
internal sealed class SimInstance(string id, long epoch, ServiceSpec spec, IReadOnlyDictionary<string, int> ports, double usage)
{
    public string Id { get; } = id;
    public long Epoch { get; } = epoch;
    public ServiceSpec Spec { get; } = spec;
    public IReadOnlyDictionary<string, int> Ports { get; } = ports;
    /// <summary>Share of its reserved resources it uses.</summary>
    public double Usage { get; } = usage;
    public InstanceState State { get; set; } = InstanceState.Starting;
    public string Reason { get; set; } = "";
}
