using VirtualCluster.Api;

namespace VirtualCluster.Simulator.Scenarios;

/// <summary>A checked scenario, ready to run.</summary>
internal sealed record SimulationSettings(
    string Name,
    TimeSpan Duration,
    int Seed,
    TimeSpan HeartbeatInterval,
    TimeSpan ReconcileInterval,
    TimeSpan CheckInterval,
    TimeSpan SampleInterval,
    TimeSpan PlacementGrace,
    IReadOnlyList<SimNode> Nodes,
    IReadOnlyList<SimService> Services,
    AgentSettings Agents,
    FaultSettings Faults)
{
    /// <summary>The control plane's bound on heartbeats per second (the interval told grows with the cluster beyond it).</summary>
    public double MaxHeartbeatsPerSecond { get; init; } = 1000;

    /// <summary>How often a reconcile pass looks at every service (the passes in between look at changed ones).</summary>
    public TimeSpan FullReconcileInterval { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>One node to simulate.</summary>
internal sealed record SimNode(string Name, Resources Capacity, PortRange Ports, IReadOnlyDictionary<string, string>? Labels);

/// <summary>One service: its spec document (as deployed), the parsed spec, and when it is deployed and removed.</summary>
internal sealed record SimService(string Json, ServiceSpec Spec, TimeSpan At, TimeSpan? RemoveAt);

internal sealed record AgentSettings(TimeSpan StartDelayMin, TimeSpan StartDelayMax, double UsageMin, double UsageMax, TimeSpan HeartbeatJitter);

internal sealed record FaultSettings(
    double CrashesPerHour, double PausesPerHour, double PartitionsPerHour, double InstanceFailuresPerHour,
    int PartitionSize, TimeSpan DowntimeMin, TimeSpan DowntimeMax, IReadOnlyList<FaultSpec> Schedule);

/// <summary>Kinds of node faults.</summary>
internal enum FaultKind
{
    /// <summary>The machine dies: agent and instances are gone; it rejoins empty when it returns.</summary>
    Crash,
    /// <summary>The agent stops reporting (frozen); its instances keep running, singletons stop at their fencing lease.</summary>
    Pause,
    /// <summary>The node cannot reach the control plane; like a pause, seen from the node's side.</summary>
    Partition,
}

/// <summary>A fault on some nodes at a time, for a while.</summary>
internal sealed record FaultSpec(TimeSpan At, FaultKind Kind, IReadOnlyList<string> Nodes, TimeSpan For);
