using Microsoft.Extensions.Options;

namespace VirtualCluster.Agent;

/// <summary>Settings of a node agent.</summary>
public sealed class AgentOptions
{
    /// <summary>
    /// Control-plane URL, e.g. http://127.0.0.1:7070, or several separated by commas (the control planes of a highly
    /// available cluster: the agent moves to the next when one does not answer). Required.
    /// </summary>
    public string ServerUrl { get; set; } = "";

    /// <summary>Join token, needed the first time (afterwards the machine token in the data directory is used).</summary>
    public string? JoinToken { get; set; }

    /// <summary>
    /// Fingerprint (sha256:...) of the cluster CA to trust for https control planes. Default: the one the join token
    /// carries, else the one saved in agent.json at the last join; none means the system's trust store.
    /// </summary>
    public string? CaFingerprint { get; set; }

    /// <summary>Node name, unique in the cluster. Default: the host name, lowercased.</summary>
    public string Name { get; set; } = Environment.MachineName.ToLowerInvariant();

    /// <summary>Address at which this node's service ports are reachable. Default 127.0.0.1.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>Directory for the agent's identity, instance data and logs. Required.</summary>
    public string DataDirectory { get; set; } = "";

    /// <summary>Host ports handed to instances. Default 20000-20999.</summary>
    public PortRange Ports { get; set; } = new(20000, 20999);

    /// <summary>
    /// TCP port of the replica server, where other nodes push replicas of their instances' replicated volumes (kept
    /// under <c>&lt;DataDirectory&gt;/replicas</c>); advertised to the control plane with <see cref="Address"/>.
    /// Default 0: any free port. Null: no replica server (this node never holds replicas).
    /// </summary>
    public int? ReplicaPort { get; set; } = 0;

    /// <summary>
    /// How long a replica this node holds may go unwanted (its service removed, or its instance's holders moved
    /// elsewhere, per GET /v1/replication/keep) before it is deleted. Default 1 h: time to notice a mistaken removal.
    /// </summary>
    public TimeSpan ReplicaRetention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often the node asks which of its replicas are still wanted. Default 1 min.</summary>
    public TimeSpan ReplicaCollectInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Labels for placement constraints.</summary>
    public Dictionary<string, string> Labels { get; set; } = new();

    /// <summary>Advertised CPU in millicores instead of the measured capacity; null measures.</summary>
    public long? CpuMillicores { get; set; }

    /// <summary>Advertised memory in bytes instead of the measured capacity; null measures.</summary>
    public long? MemoryBytes { get; set; }

    /// <summary>
    /// The part of this machine the agent reports when several agents share it (e.g. 2/3): that part of the measured
    /// capacity and use, with the labels <see cref="Agent.MachineShare.Label"/> and <see cref="Agent.MachineShare.MachineLabel"/>.
    /// <see cref="CpuMillicores"/> and <see cref="MemoryBytes"/> still override it. Default null: the whole machine.
    /// </summary>
    public MachineShare? MachineShare { get; set; }

    /// <summary>Report interval until the control plane says otherwise. Default 1 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Time a workload gets to exit after SIGTERM before it is killed. Default 10 s.</summary>
    public TimeSpan StopGracePeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Restarts after which an instance that keeps exiting is marked Failed. Default 5.</summary>
    public int MaxRestarts { get; set; } = 5;

    /// <summary>Stop every workload when the agent shuts down gracefully. Default true.</summary>
    public bool StopWorkloadsOnShutdown { get; set; } = true;

    /// <summary>
    /// On a graceful shutdown (SIGTERM, Ctrl+C), first ask the control plane to drain this node (its instances
    /// start elsewhere and become healthy before the local copies stop), then leave the cluster. Default true.
    /// Turn it off when the whole cluster stops at once (as `local` does), where there is nowhere to move to.
    /// </summary>
    public bool DrainOnShutdown { get; set; } = true;

    /// <summary>Longest wait for the drain on shutdown; what has not moved by then stops with the agent and fails over. Default 30 s.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Run a small watchdog process (bash) that stops this node's singleton instances when the fencing lease runs
    /// out even if the agent itself hangs or is paused. Without it only the agent stops them, which it cannot do
    /// while frozen. Default true; needs /bin/bash and Linux.
    /// </summary>
    public bool FencingWatchdog { get; set; } = true;

    /// <summary>Time a singleton gets to exit after SIGTERM when it is fenced, before it is killed. Default 200 ms (the control plane waits only a short margin).</summary>
    public TimeSpan FenceGracePeriod { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How often instances are checked (exits, health probes, restarts, fencing) between heartbeats. Default 250 ms.</summary>
    public TimeSpan SupervisionInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Test aid: delay every heartbeat by a random time from zero to this, to exercise the failure detector under
    /// jitter. Default zero (no delay).
    /// </summary>
    public TimeSpan HeartbeatJitter { get; set; } = TimeSpan.Zero;
    /// <summary>Whether to run the Docker driver. Default <see cref="DockerMode.Auto"/>.</summary>
    public DockerMode Docker { get; set; } = DockerMode.Auto;

    /// <summary>Docker daemon address. Default unix:///var/run/docker.sock.</summary>
    public string DockerEndpoint { get; set; } = "unix:///var/run/docker.sock";

    /// <summary>Host address container ports are published on. Default 0.0.0.0; 127.0.0.1 keeps them on this machine.</summary>
    public string DockerPublishAddress { get; set; } = "0.0.0.0";

    /// <summary>
    /// Gateway URL(s), comma-separated (e.g. http://gw.example.com:8080). The agent keeps an outbound tunnel to each,
    /// through which the gateway reaches this node's instances without any inbound port. Default: none.
    /// </summary>
    public string Gateways { get; set; } = "";

    /// <summary>
    /// Answer peer links (WebRTC data channels) from the gateways besides keeping the tunnels: the gateway then reaches
    /// instances over a direct (or TURN-relayed) UDP path and uses the tunnel only as the fallback. Default true.
    /// </summary>
    public bool PeerLinks { get; set; } = true;

    /// <summary>Offer loopback ICE candidates too (agents and gateway on one machine, as in <c>local</c>). Default false.</summary>
    public bool PeerLinksOnLoopback { get; set; }

    /// <summary>Use only relayed (TURN) candidates for peer links, as WebRTC's iceTransportPolicy "relay". Default false.</summary>
    public bool PeerLinksRelayOnly { get; set; }

    /// <summary>
    /// Give instances a local address for every service of the cluster (<c>VC_SERVICE_&lt;NAME&gt;_URL</c>, one port per
    /// service on <see cref="ServiceCallsAddress"/>), carried through a gateway to a healthy instance of the service
    /// wherever it runs. Needs <see cref="Gateways"/>. Default true.
    /// </summary>
    public bool ServiceCalls { get; set; } = true;

    /// <summary>
    /// Address the service-call ports listen on. Default 127.0.0.1 (process instances on this machine); an address on
    /// the Docker bridge (e.g. 172.17.0.1) lets containers reach them too, but also anything else on that network.
    /// </summary>
    public string ServiceCallsAddress { get; set; } = "127.0.0.1";

    /// <summary>Most service-call connections open at once on this node; more are closed at once. Default 256.</summary>
    public int MaxServiceCallConnections { get; set; } = 256;
}

/// <summary>Whether an agent runs the Docker driver.</summary>
public enum DockerMode
{
    /// <summary>Offer the "docker" driver whenever the daemon answers (checked at start and before each report).</summary>
    Auto,
    /// <summary>Like <see cref="Auto"/>, but the agent does not start when the daemon does not answer at start.</summary>
    On,
    /// <summary>No Docker driver: only the process driver.</summary>
    Off,
}

internal sealed class AgentOptionsValidator : IValidateOptions<AgentOptions>
{
    public ValidateOptionsResult Validate(string? name, AgentOptions o)
    {
        var errors = new List<string>();
        var urls = Connection.ControlPlaneFailoverHandler.Split(o.ServerUrl);
        if (urls.Count == 0 || urls.Any(u => !Uri.TryCreate(u, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https")))
            errors.Add($"ServerUrl \"{o.ServerUrl}\" is not an http(s) URL (or a comma-separated list of them); pass the control plane's address, e.g. http://127.0.0.1:7070.");
        if (string.IsNullOrWhiteSpace(o.DataDirectory))
            errors.Add("DataDirectory is empty: set it to a writable directory.");
        if (o.CaFingerprint is not null && !Security.Tls.TlsFingerprint.TryParse(o.CaFingerprint, out _, out var fingerprintProblem))
            errors.Add($"CaFingerprint: {fingerprintProblem}.");
        if (string.IsNullOrWhiteSpace(o.Name))
            errors.Add("Name is empty: give the node a name.");
        if (string.IsNullOrWhiteSpace(o.Address))
            errors.Add("Address is empty: give the address where service ports are reachable.");
        if (!o.Ports.IsValid)
            errors.Add($"Ports {o.Ports} is not a valid range; use e.g. 20000-20999.");
        if (o.ReplicaPort is < 0 or > 65535) errors.Add($"ReplicaPort {o.ReplicaPort} is not a TCP port; use 1-65535, 0 for any free port, or null for no replica server.");
        if (o.ReplicaRetention < TimeSpan.Zero || o.ReplicaRetention > TimeSpan.FromDays(365))
            errors.Add($"ReplicaRetention {o.ReplicaRetention} must be between 0 and 365 days (e.g. 1 h; --replica-retention 1h).");
        if (o.ReplicaCollectInterval < TimeSpan.FromMilliseconds(100) || o.ReplicaCollectInterval > TimeSpan.FromDays(1))
            errors.Add($"ReplicaCollectInterval {o.ReplicaCollectInterval} must be between 100 ms and 1 day.");
        if (o.CpuMillicores is <= 0) errors.Add("CpuMillicores must be positive when set.");
        if (o.MemoryBytes is <= 0) errors.Add("MemoryBytes must be positive when set.");
        if (o.MachineShare is { IsValid: false } share)
            errors.Add($"MachineShare {share} is not a part k/n with 1 <= k <= n <= {Agent.MachineShare.MaxParts}; e.g. 1/3.");
        if (o.HeartbeatInterval <= TimeSpan.Zero) errors.Add("HeartbeatInterval must be positive.");
        if (o.StopGracePeriod < TimeSpan.Zero) errors.Add("StopGracePeriod must not be negative.");
        if (o.MaxRestarts < 0) errors.Add("MaxRestarts must not be negative.");
        if (o.DrainTimeout < TimeSpan.Zero || o.DrainTimeout > TimeSpan.FromHours(1)) errors.Add("DrainTimeout must be between 0 and 1 hour.");
        if (o.FenceGracePeriod < TimeSpan.Zero || o.FenceGracePeriod > TimeSpan.FromSeconds(5))
            errors.Add("FenceGracePeriod must be between 0 and 5 s; the control plane starts the replacement soon after the lease runs out.");
        if (o.SupervisionInterval < TimeSpan.FromMilliseconds(10) || o.SupervisionInterval > TimeSpan.FromSeconds(10))
            errors.Add("SupervisionInterval must be between 10 ms and 10 s.");
        if (o.HeartbeatJitter < TimeSpan.Zero || o.HeartbeatJitter > TimeSpan.FromSeconds(30)) errors.Add("HeartbeatJitter must be between 0 and 30 s.");
        foreach (var gateway in o.Gateways.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            if (!Uri.TryCreate(gateway, UriKind.Absolute, out var g) || g.Scheme is not ("http" or "https" or "ws" or "wss"))
                errors.Add($"Gateways: \"{gateway}\" is not a gateway URL; use e.g. http://gateway-host:8080.");
        if (!System.Net.IPAddress.TryParse(o.ServiceCallsAddress, out _))
            errors.Add($"ServiceCallsAddress \"{o.ServiceCallsAddress}\" is not an IP address; use 127.0.0.1 (or the Docker bridge's address for containers).");
        if (o.MaxServiceCallConnections is < 1 or > 65536)
            errors.Add($"MaxServiceCallConnections {o.MaxServiceCallConnections} must be between 1 and 65536.");
        if (o.Docker != DockerMode.Off)
        {
            if (!Uri.TryCreate(o.DockerEndpoint, UriKind.Absolute, out var docker) || docker.Scheme is not ("unix" or "tcp" or "http" or "https"))
                errors.Add($"DockerEndpoint \"{o.DockerEndpoint}\" is not a Docker address; use unix:///var/run/docker.sock or tcp://host:2375.");
            if (!System.Net.IPAddress.TryParse(o.DockerPublishAddress, out _))
                errors.Add($"DockerPublishAddress \"{o.DockerPublishAddress}\" is not an IP address; use 0.0.0.0 or 127.0.0.1.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
