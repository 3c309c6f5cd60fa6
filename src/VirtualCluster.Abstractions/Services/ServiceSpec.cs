namespace VirtualCluster;

/// <summary>What to do when an instance's workload exits.</summary>
public enum RestartPolicy
{
    /// <summary>Restart whatever the exit code (the default for services).</summary>
    Always,
    /// <summary>Restart only on a non-zero exit code.</summary>
    OnFailure,
    /// <summary>Never restart; the instance ends as Exited or Failed.</summary>
    Never,
}

/// <summary>Kind of health probe.</summary>
public enum HealthCheckType
{
    /// <summary>HTTP GET; any 2xx or 3xx answer is healthy.</summary>
    Http,
    /// <summary>A TCP connect succeeds.</summary>
    Tcp,
}

/// <summary>A named port the service listens on. The host port is assigned at placement.</summary>
/// <param name="Name">Name, used in env vars (<c>VC_PORT_&lt;NAME&gt;</c>) and health checks.</param>
/// <param name="ContainerPort">Port inside a container (Docker driver); null for the process driver.</param>
public sealed record PortSpec(string Name, int? ContainerPort = null);

/// <summary>A named volume mounted into the workload; lives under the agent's data directory.</summary>
public sealed record VolumeSpec(string Name, string MountPath);

/// <summary>Health probe of an instance.</summary>
public sealed record HealthCheckSpec(HealthCheckType Type, string Port, string Path, TimeSpan Interval, TimeSpan Timeout);

/// <summary>
/// Placement preferences and rules (docs/service-spec.md, "placement"). Every field has a default, so a spec
/// without a placement section packs instances tightly and prefers to keep replicas on different nodes.
/// </summary>
/// <param name="Constraints">Node labels that must match exactly.</param>
public sealed record PlacementSpec(IReadOnlyDictionary<string, string> Constraints)
{
    /// <summary>No constraints, default strategy and preferences.</summary>
    public static PlacementSpec None { get; } = new(new Dictionary<string, string>());

    /// <summary>Scoring strategy: <see cref="PlacementStrategyNames.BinPack"/> (default) or <see cref="PlacementStrategyNames.Spread"/>.</summary>
    public string Strategy { get; init; } = PlacementStrategyNames.BinPack;

    /// <summary>Labels that must exist (true) or must not exist (false) on the node, whatever their value.</summary>
    public IReadOnlyDictionary<string, bool> LabelExists { get; init; } = new Dictionary<string, bool>();

    /// <summary>Weighted node label preferences; they rank nodes but never exclude one.</summary>
    public IReadOnlyList<NodeAffinity> Affinity { get; init; } = [];

    /// <summary>Whether replicas of this service avoid sharing a node. Default <see cref="AntiAffinityMode.Preferred"/>.</summary>
    public AntiAffinityMode AntiAffinity { get; init; } = AntiAffinityMode.Preferred;

    /// <summary>Spread replicas evenly over the values of node labels (zone, site).</summary>
    public IReadOnlyList<TopologySpread> TopologySpread { get; init; } = [];
}

/// <summary>
/// Desired state of a service, parsed and validated by <c>ServiceSpecParser</c>.
/// Either <see cref="Command"/> (process driver) or <see cref="Image"/> (docker driver) is set.
/// </summary>
public sealed record ServiceSpec
{
    /// <summary>DNS-label name, unique in the cluster.</summary>
    public required string Name { get; init; }
    /// <summary>Workload driver: "process" or "docker".</summary>
    public required string Driver { get; init; }
    /// <summary>Container image (docker driver).</summary>
    public string? Image { get; init; }
    /// <summary>Executable (process driver), or the container command override.</summary>
    public string? Command { get; init; }
    /// <summary>Arguments.</summary>
    public IReadOnlyList<string> Args { get; init; } = [];
    /// <summary>Working directory for the process driver; relative paths resolve against the agent's working directory.</summary>
    public string? WorkingDirectory { get; init; }
    /// <summary>Number of instances.</summary>
    public int Replicas { get; init; } = 1;
    /// <summary>Resources reserved per instance.</summary>
    public Resources Resources { get; init; }
    /// <summary>Named ports; each instance gets one host port per entry.</summary>
    public IReadOnlyList<PortSpec> Ports { get; init; } = [];
    /// <summary>Environment variables.</summary>
    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();
    /// <summary>Volumes.</summary>
    public IReadOnlyList<VolumeSpec> Volumes { get; init; } = [];
    /// <summary>Health probe, or null for "running means healthy" (with a TCP readiness check on the first port, if any).</summary>
    public HealthCheckSpec? HealthCheck { get; init; }
    /// <summary>Restart policy; default <see cref="RestartPolicy.Always"/>.</summary>
    public RestartPolicy RestartPolicy { get; init; } = RestartPolicy.Always;
    /// <summary>Placement rules.</summary>
    public PlacementSpec Placement { get; init; } = PlacementSpec.None;
}
