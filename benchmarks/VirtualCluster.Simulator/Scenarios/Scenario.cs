using System.Text.Json;

namespace VirtualCluster.Simulator.Scenarios;

/// <summary>
/// A scenario file as written: cluster shape, workload, agent behaviour, faults, duration. Durations are strings
/// such as "500ms", "30s", "5m", "24h"; quantities as in service specs ("500m" cpu, "2Gi" memory).
/// <see cref="ScenarioLoader"/> reads and checks it into <see cref="SimulationSettings"/>.
/// </summary>
public sealed class Scenario
{
    /// <summary>Shown in reports. Default "scenario".</summary>
    public string Name { get; set; } = "scenario";

    /// <summary>Virtual time simulated. Required.</summary>
    public string? Duration { get; set; }

    /// <summary>Seed used when the command line gives none. Default 1.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Heartbeat interval the control plane tells agents. Default "2s".</summary>
    public string HeartbeatInterval { get; set; } = "2s";

    /// <summary>
    /// The control plane's bound on heartbeats per second (<c>ControlPlaneOptions.MaxHeartbeatsPerSecond</c>): agents
    /// are told max(heartbeatInterval, nodes / this). Default 1000, as in production.
    /// </summary>
    public double MaxHeartbeatsPerSecond { get; set; } = 1000;

    /// <summary>The control plane's reconcile interval: a full pass at least this often (default "1s", as in production).</summary>
    public string ReconcileInterval { get; set; } = "1s";

    /// <summary>
    /// How often a reconcile pass looks at every service (<c>ControlPlaneOptions.FullReconcileInterval</c>); passes in
    /// between look at changed services only. Default "30s" as in production (or the reconcile interval when longer).
    /// </summary>
    public string? FullReconcileInterval { get; set; }

    /// <summary>How often the simulated reconciler looks whether a pass is due (the host's failure check interval). Default "500ms".</summary>
    public string CheckInterval { get; set; } = "500ms";

    /// <summary>How often placement quality is sampled and the store is compared with the control plane's memory. Default "5m".</summary>
    public string SampleInterval { get; set; } = "5m";

    /// <summary>How long a replica may stay unplaced while some live node has room for it before that counts as a violation. Default "2m".</summary>
    public string PlacementGrace { get; set; } = "2m";

    /// <summary>Groups of identical nodes. At least one.</summary>
    public List<NodeGroup>? Nodes { get; set; }

    /// <summary>Groups of services deployed at a time. At least one.</summary>
    public List<ServiceGroup>? Services { get; set; }

    /// <summary>How simulated agents behave.</summary>
    public AgentBehaviour Agents { get; set; } = new();

    /// <summary>Random faults by rate, and scheduled ones.</summary>
    public FaultPlan Faults { get; set; } = new();
}

/// <summary><see cref="Count"/> nodes named {prefix}{index}.</summary>
public sealed class NodeGroup
{
    public int Count { get; set; }
    /// <summary>Name prefix. Default "node-".</summary>
    public string Prefix { get; set; } = "node-";
    public string Cpu { get; set; } = "8";
    public string Memory { get; set; } = "32Gi";
    public string Disk { get; set; } = "200Gi";
    /// <summary>Host ports the node hands out. Default "20000-20999".</summary>
    public string Ports { get; set; } = "20000-20999";
    public Dictionary<string, string>? Labels { get; set; }
}

/// <summary><see cref="Count"/> copies of a service spec (names get "-1", "-2", ... when more than one), deployed at <see cref="At"/>.</summary>
public sealed class ServiceGroup
{
    public int Count { get; set; } = 1;
    /// <summary>A service spec as `vcluster deploy` takes it.</summary>
    public JsonElement Spec { get; set; }
    /// <summary>When to deploy, from the start. Default "0s".</summary>
    public string At { get; set; } = "0s";
    /// <summary>When to remove again; null keeps it.</summary>
    public string? RemoveAt { get; set; }
}

/// <summary>Agent behaviour: start delays and resource use, drawn from the seed.</summary>
public sealed class AgentBehaviour
{
    public string StartDelayMin { get; set; } = "200ms";
    public string StartDelayMax { get; set; } = "3s";
    /// <summary>Share of its reservation an instance uses, drawn per instance. Defaults 0.2 and 0.9.</summary>
    public double UsageMin { get; set; } = 0.2;
    public double UsageMax { get; set; } = 0.9;
    /// <summary>Largest random delay added to each heartbeat. Default "100ms".</summary>
    public string HeartbeatJitter { get; set; } = "100ms";
}

/// <summary>Faults: rates per hour over the whole cluster (times drawn from the seed), plus a fixed schedule.</summary>
public sealed class FaultPlan
{
    /// <summary>Node crashes per hour: the agent and its instances are gone; it rejoins empty after the downtime.</summary>
    public double CrashesPerHour { get; set; }
    /// <summary>Agent pauses per hour: no heartbeats for the downtime, instances keep running (singletons stop at their fencing lease).</summary>
    public double PausesPerHour { get; set; }
    /// <summary>Partitions per hour: <see cref="PartitionSize"/> nodes cannot reach the control plane for the downtime.</summary>
    public double PartitionsPerHour { get; set; }
    /// <summary>Instance failures per hour: a running instance exits with an error and is reported failed.</summary>
    public double InstanceFailuresPerHour { get; set; }
    public int PartitionSize { get; set; } = 3;
    public string DowntimeMin { get; set; } = "30s";
    public string DowntimeMax { get; set; } = "10m";
    public List<ScheduledFault>? Schedule { get; set; }
}

/// <summary>One fault at a fixed time.</summary>
public sealed class ScheduledFault
{
    public string? At { get; set; }
    /// <summary>"crash", "pause" or "partition".</summary>
    public string? Kind { get; set; }
    /// <summary>Node names hit.</summary>
    public List<string>? Nodes { get; set; }
    /// <summary>How long until the nodes return. Default "5m".</summary>
    public string For { get; set; } = "5m";
}
