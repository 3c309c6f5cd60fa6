using System.Text.Json.Serialization;

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

/// <summary>Who may reach a service through the cluster gateway (its stable URL).</summary>
public enum ServiceAccess
{
    /// <summary>Anyone who can reach the gateway (the default).</summary>
    Public,
    /// <summary>Only requests carrying a service token for this service (<c>vcluster token create --service</c>).</summary>
    Token,
}

/// <summary>Kind of health probe.</summary>
public enum HealthCheckType
{
    /// <summary>HTTP GET; any 2xx or 3xx answer is healthy.</summary>
    Http,
    /// <summary>A TCP connect succeeds.</summary>
    Tcp,
    /// <summary>A command run on the instance's node exits with code 0 within the timeout.</summary>
    Command,
}

/// <summary>A named port the service listens on. The host port is assigned at placement.</summary>
/// <param name="Name">Name, used in env vars (<c>VC_PORT_&lt;NAME&gt;</c>) and health checks.</param>
/// <param name="ContainerPort">Port inside a container (Docker driver); null for the process driver.</param>
public sealed record PortSpec(string Name, int? ContainerPort = null);

/// <summary>A named volume mounted into the workload; lives under the agent's data directory.</summary>
/// <param name="Name">Name, unique in the service (a DNS label).</param>
/// <param name="MountPath">Absolute path where the workload sees it.</param>
/// <param name="Replicas">
/// Copies kept on other nodes while the instance runs (0, the default: none, the volume dies with its node). With
/// replicas, a failover starts the replacement on the newest completed sync.
/// </param>
/// <param name="Sync">Longest time a change waits before it is on the replicas (default 5 s); ignored without replicas.</param>
public sealed record VolumeSpec(string Name, string MountPath, int Replicas = 0, TimeSpan? Sync = null)
{
    /// <summary>Sync interval when the spec names none.</summary>
    public static readonly TimeSpan DefaultSync = TimeSpan.FromSeconds(5);

    /// <summary><see cref="Sync"/>, or <see cref="DefaultSync"/>.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public TimeSpan SyncInterval => Sync ?? DefaultSync;
}

/// <summary>Health probe of an instance.</summary>
/// <param name="Type">HTTP, TCP or command.</param>
/// <param name="Port">Declared port to probe (HTTP and TCP); empty for a command check.</param>
/// <param name="Path">Request path (HTTP); "/" otherwise.</param>
/// <param name="Interval">Time between probes.</param>
/// <param name="Timeout">Time one probe may take before it counts as failed.</param>
public sealed record HealthCheckSpec(HealthCheckType Type, string Port, string Path, TimeSpan Interval, TimeSpan Timeout)
{
    /// <summary>Default of <see cref="FailureThreshold"/>.</summary>
    public const int DefaultFailureThreshold = 3;

    /// <summary>Default of <see cref="GracePeriod"/>: 10 s.</summary>
    public static readonly TimeSpan DefaultGracePeriod = TimeSpan.FromSeconds(10);

    /// <summary>Consecutive failed probes after which the agent restarts the instance. Default 3.</summary>
    public int FailureThreshold { get; init; } = DefaultFailureThreshold;

    /// <summary>
    /// Time after a (re)start during which failed probes of an instance that was never healthy do not count, so a
    /// slow start is not mistaken for a hang. Default 10 s.
    /// </summary>
    public TimeSpan GracePeriod { get; init; } = DefaultGracePeriod;

    /// <summary>Program to run for a <see cref="HealthCheckType.Command"/> check (exit code 0 = healthy); null otherwise.</summary>
    public string? Command { get; init; }

    /// <summary>Arguments of <see cref="Command"/>.</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>Value equality, including the items of <see cref="Args"/> (a list would otherwise compare by reference).</summary>
    public bool Equals(HealthCheckSpec? other) =>
        other is not null && Type == other.Type && Port == other.Port && Path == other.Path && Interval == other.Interval
        && Timeout == other.Timeout && FailureThreshold == other.FailureThreshold && GracePeriod == other.GracePeriod
        && Command == other.Command && Args.SequenceEqual(other.Args);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Type, Port, Path, Interval, Timeout, FailureThreshold, GracePeriod, Command);
}

/// <summary>
/// What the control plane does when an instance's node goes down or the instance ends Failed.
/// Written in a spec as <c>"failover": {"delay": "30s", "maxAttempts": 5}</c>, or <c>"failover": "never"</c>.
/// </summary>
/// <param name="Enabled">False for "never": instances stay on their node (e.g. pinned to its local data) and wait for it to come back.</param>
/// <param name="Delay">Time to wait after the node is declared down before moving its instances (a node that returns within it keeps them).</param>
/// <param name="MaxAttempts">
/// How many times in a row an instance that ended Failed is replaced (with backoff) before the control plane gives
/// up and leaves it Failed; 0 never replaces failed instances (nor does <see cref="RestartPolicy.Never"/>). Node
/// failures do not count as attempts.
/// </param>
public sealed record FailoverPolicy(bool Enabled, TimeSpan Delay, int MaxAttempts)
{
    /// <summary>Default <see cref="MaxAttempts"/>: 5.</summary>
    public const int DefaultMaxAttempts = 5;

    /// <summary>Move at once, replace failed instances up to 5 times in a row.</summary>
    public static FailoverPolicy Default { get; } = new(true, TimeSpan.Zero, DefaultMaxAttempts);

    /// <summary>Never move or replace instances.</summary>
    public static FailoverPolicy Never { get; } = new(false, TimeSpan.Zero, 0);
}

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
    /// <summary>
    /// Secret environment variables. In a spec file and on the agent running an instance these are the values; inside
    /// the control plane (its store, its events) they are sealed (encrypted), and API answers show only the names.
    /// </summary>
    public IReadOnlyDictionary<string, string> Secrets { get; init; } = new Dictionary<string, string>();
    /// <summary>Volumes.</summary>
    public IReadOnlyList<VolumeSpec> Volumes { get; init; } = [];

    /// <summary>Replica holders each instance needs: the most any of its volumes asks for (0: no replicated volume).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int VolumeReplicas => Volumes.Count == 0 ? 0 : Volumes.Max(v => v.Replicas);
    /// <summary>Health probe, or null for "running means healthy" (with a TCP readiness check on the first port, if any).</summary>
    public HealthCheckSpec? HealthCheck { get; init; }
    /// <summary>Restart policy; default <see cref="RestartPolicy.Always"/>.</summary>
    public RestartPolicy RestartPolicy { get; init; } = RestartPolicy.Always;
    /// <summary>Placement rules.</summary>
    public PlacementSpec Placement { get; init; } = PlacementSpec.None;
    /// <summary>Failover policy; default <see cref="FailoverPolicy.Default"/>.</summary>
    public FailoverPolicy Failover { get; init; } = FailoverPolicy.Default;
    /// <summary>Who may reach the service through the gateway; default <see cref="ServiceAccess.Public"/>.</summary>
    public ServiceAccess Access { get; init; } = ServiceAccess.Public;
    /// <summary>
    /// Custom domains the gateway also serves the service at (lower case DNS names outside the cluster domain, at most
    /// 10, none claimed by another service); each gets a certificate once it resolves to a gateway. Default none.
    /// </summary>
    public IReadOnlyList<string> Domains { get; init; } = [];
    /// <summary>
    /// True when browsers may reach the service over a WebRTC data channel straight to the node running an instance
    /// (the gateway serves a bootstrap page and a service worker, and carries only the signaling); requests fall back
    /// to the gateway's proxy when no direct path exists. Default false.
    /// </summary>
    public bool BrowserDirect { get; init; }

    /// <summary>
    /// True when at most one copy may run at a time and the control plane may move it: one replica and failover
    /// enabled. An agent stops such instances by itself when it loses the control plane for longer than the
    /// fencing lease, so the replacement never runs beside the stale copy.
    /// </summary>
    [JsonIgnore]
    public bool IsFencedSingleton => Replicas == 1 && Failover.Enabled;
}
