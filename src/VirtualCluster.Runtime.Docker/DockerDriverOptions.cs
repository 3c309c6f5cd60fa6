namespace VirtualCluster.Runtime.Docker;

/// <summary>Settings of the <see cref="DockerDriver"/>.</summary>
public sealed class DockerDriverOptions
{
    /// <summary>The daemon's API address. Default <c>unix:///var/run/docker.sock</c>; <c>tcp://host:2375</c> also works.</summary>
    public string Endpoint { get; set; } = "unix:///var/run/docker.sock";

    /// <summary>
    /// Host address the instance's ports are published on. Default <c>0.0.0.0</c> (every interface). The agent probes
    /// health on 127.0.0.1, so a single address other than a loopback one leaves probes without an answer;
    /// use <c>127.0.0.1</c> for a cluster that lives on one machine.
    /// </summary>
    public string PublishAddress { get; set; } = "0.0.0.0";

    /// <summary>
    /// Identifies the cluster in the ownership label <see cref="ContainerLabels.Cluster"/>. The agent uses its
    /// control-plane URL. Required.
    /// </summary>
    public string Cluster { get; set; } = "";

    /// <summary>Identifies this node in the ownership label <see cref="ContainerLabels.Node"/>; the agent uses its node name. Required.</summary>
    public string Node { get; set; } = "";

    /// <summary>
    /// Run Docker's init (tini) as the container's PID 1. Default true: it forwards signals and reaps zombies, so a
    /// workload that installs no SIGTERM handler (busybox httpd, many shell scripts) still stops on SIGTERM instead of
    /// being killed only after the grace period, which as PID 1 it otherwise would.
    /// </summary>
    public bool Init { get; set; } = true;

    /// <summary>Output lines kept in memory per instance (Docker keeps the full log). Default 2000.</summary>
    public int LogBufferLines { get; set; } = 2000;

    /// <summary>Longest line kept, in characters; the rest is dropped and the line marked truncated. Default 16384.</summary>
    public int MaxLineLength { get; set; } = 16 * 1024;

    /// <summary>Size at which Docker rotates a container's json log file (three files are kept). Default 10 MiB.</summary>
    public long MaxLogFileBytes { get; set; } = 10L * 1024 * 1024;

    /// <summary>How long <see cref="DockerDriver.IsAvailableAsync"/> waits for the daemon to answer a ping. Default 2 s.</summary>
    public TimeSpan PingTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Timeout of one API request (not of pulls, waits or log streams). Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long to wait, after a container exits, for the rest of its output before reporting it. Default 2 s.</summary>
    public TimeSpan OutputDrainTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Every problem with these settings, each naming the property and the fix; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("unix" or "tcp" or "http" or "https"))
            errors.Add($"Endpoint \"{Endpoint}\" is not a Docker address; use unix:///var/run/docker.sock or tcp://host:2375.");
        if (!System.Net.IPAddress.TryParse(PublishAddress, out _))
            errors.Add($"PublishAddress \"{PublishAddress}\" is not an IP address; use 0.0.0.0, 127.0.0.1 or the node's address.");
        if (string.IsNullOrWhiteSpace(Cluster)) errors.Add("Cluster is empty: set it to something that names the cluster (the agent uses its control-plane URL).");
        if (string.IsNullOrWhiteSpace(Node)) errors.Add("Node is empty: set it to the node's name.");
        if (LogBufferLines < 1) errors.Add("LogBufferLines must be at least 1.");
        if (MaxLineLength < 1) errors.Add("MaxLineLength must be at least 1.");
        if (MaxLogFileBytes < 1024) errors.Add("MaxLogFileBytes must be at least 1024.");
        if (PingTimeout <= TimeSpan.Zero) errors.Add("PingTimeout must be positive.");
        if (RequestTimeout <= TimeSpan.Zero) errors.Add("RequestTimeout must be positive.");
        if (OutputDrainTimeout < TimeSpan.Zero) errors.Add("OutputDrainTimeout must not be negative.");
        return errors;
    }
}
