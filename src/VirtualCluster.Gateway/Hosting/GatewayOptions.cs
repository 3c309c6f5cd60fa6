using Microsoft.Extensions.Options;

namespace VirtualCluster.Gateway;

/// <summary>Settings of a gateway.</summary>
public sealed class GatewayOptions
{
    /// <summary>
    /// Cluster domain: a service named <c>hello</c> answers at <c>http://hello.&lt;Domain&gt;/</c>. Default
    /// <c>localhost</c> (browsers and curl resolve every <c>*.localhost</c> name to loopback, so no DNS is needed).
    /// </summary>
    public string Domain { get; set; } = "localhost";

    /// <summary>
    /// Control-plane URL(s), comma-separated; the route table is read from the first that answers. Required unless a
    /// route source is registered in the same process (the web host).
    /// </summary>
    public string ControlPlaneUrls { get; set; } = "";

    /// <summary>Token the gateway reads the control plane's /v1/services and /v1/nodes with (an admin token).</summary>
    public string? ControlPlaneToken { get; set; }

    /// <summary>
    /// Fingerprint (sha256:...) of the cluster CA that https control planes present (the control plane's
    /// ca.fingerprint file). Default none: the system's trust store.
    /// </summary>
    public string? ControlPlaneCaFingerprint { get; set; }

    /// <summary>How often the route table is refreshed from the control plane. Default 200 ms, so a new instance is reached within a second of being healthy.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long an instance that failed to connect stays out of its pool before it is tried again. Default 5 s.</summary>
    public TimeSpan FailedEndpointCooldown { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Most instances one request is tried on (only idempotent requests without a body are retried). Default 3.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Longest time to connect to an instance (through its node's tunnel or directly). Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A proxied request or stream with no bytes either way for this long is ended. Default 5 min (long enough for idle SSE and WebSockets with their own pings).</summary>
    public TimeSpan ActivityTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Whether agents may call services through this gateway (service-to-service calls over their tunnels: an instance
    /// connects to its agent's local address of a service, <c>VC_SERVICE_&lt;NAME&gt;_URL</c>). Default true.
    /// </summary>
    public bool ServiceCalls { get; set; } = true;

    /// <summary>Seconds in the <c>Retry-After</c> of a 503 while a service fails over. Default 1.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>This gateway's name; on the signaling hub it takes part as <c>gateway:&lt;Name&gt;</c>. Default "gateway".</summary>
    public string Name { get; set; } = "gateway";

    /// <summary>
    /// Keep a P2P link (ICE + DTLS + SCTP) to every node on the signaling hub and carry proxied connections in its data
    /// channels, falling back to the node's tunnel. False = tunnels only. Default true.
    /// </summary>
    public bool PeerLinks { get; set; } = true;

    /// <summary>Offer loopback ICE candidates too (gateway and agents on one machine, as in <c>local</c>). Default false.</summary>
    public bool PeerLinksOnLoopback { get; set; }

    /// <summary>
    /// Accept agents' tunnels and signaling over plain HTTP (ws://) too. Default false: over plain HTTP they answer 426,
    /// and agents connect with TLS (wss://) to the same port, served with a certificate of the cluster CA
    /// (<see cref="AgentTls.AgentTlsListenExtensions.UseGatewayAgentTls"/>). Turn it on only for agents of an earlier
    /// release, or behind a proxy that terminates TLS: a machine token then crosses the network in clear.
    /// </summary>
    public bool AllowPlainAgents { get; set; }

    /// <summary>
    /// Refuse agents' tunnels and signaling without their node's client certificate (403). Default false: a certificate
    /// is checked when presented, and the machine token alone admits agents of releases that had none. With it on, a
    /// machine token read off the network is useless without the node's key. Cannot be combined with
    /// <see cref="AllowPlainAgents"/> (plain ws:// carries no certificate).
    /// </summary>
    public bool RequireClientCertificate { get; set; }

    /// <summary>Use only relayed (TURN) candidates for peer links, as WebRTC's iceTransportPolicy "relay". Default false.</summary>
    public bool PeerLinksRelayOnly { get; set; }

    /// <summary>
    /// Size of the blocks of the gateway's Kestrel memory pool, which is also the most one socket receive reads. Kestrel's
    /// own pool has 4 KiB blocks: a 100 KiB response arriving through an agent's tunnel cost 50 system calls (a 1-byte
    /// peek and a 4 KiB read each); with 32 KiB blocks it is about 8. Default 32 KiB, which also keeps what a slow
    /// client can make the gateway hold per connection where it was (a block per connection while its request headers
    /// are incomplete; Kestrel's 32 KiB header limit already allowed about as much). 4 KiB to 1 MiB.
    /// </summary>
    public int IoBlockSize { get; set; } = 32 * 1024;

    /// <summary>
    /// DNS server (<c>host:port</c>, an IP address) that custom domains are looked up with to see whether they point at
    /// this gateway. Default none: the system's resolver.
    /// </summary>
    public string? DomainResolver { get; set; }

    /// <summary>
    /// How often each custom domain is looked up again (a new domain is looked up as soon as a spec names it). Default
    /// 60 s; 1 s to 1 day.
    /// </summary>
    public TimeSpan DomainCheckInterval { get; set; } = TimeSpan.FromSeconds(60);
}

/// <summary>Checks <see cref="GatewayOptions"/>; every problem names the option and the fix.</summary>
internal sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions o)
    {
        var errors = new List<string>();
        if (!HostNames.IsValidDomain(o.Domain))
            errors.Add($"Domain \"{o.Domain}\" is not a DNS name like localhost or apps.example.com (letters, digits, '-' and '.')");
        if (o.ControlPlaneCaFingerprint is not null && !Security.Tls.TlsFingerprint.TryParse(o.ControlPlaneCaFingerprint, out _, out var fingerprintProblem))
            errors.Add($"ControlPlaneCaFingerprint: {fingerprintProblem}");
        foreach (var url in o.ControlPlaneUrls.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                errors.Add($"ControlPlaneUrls: \"{url}\" is not an http(s) URL like http://127.0.0.1:7070");
        if (o.RefreshInterval < TimeSpan.FromMilliseconds(50) || o.RefreshInterval > TimeSpan.FromMinutes(1))
            errors.Add($"RefreshInterval {o.RefreshInterval} must be between 50 ms and 1 min");
        if (o.FailedEndpointCooldown < TimeSpan.Zero) errors.Add("FailedEndpointCooldown must not be negative");
        if (o.MaxAttempts is < 1 or > 10) errors.Add($"MaxAttempts {o.MaxAttempts} must be between 1 and 10");
        if (o.ConnectTimeout <= TimeSpan.Zero) errors.Add("ConnectTimeout must be positive, e.g. 5 s");
        if (o.ActivityTimeout <= TimeSpan.Zero) errors.Add("ActivityTimeout must be positive, e.g. 5 min");
        if (o.RetryAfterSeconds is < 1 or > 3600) errors.Add($"RetryAfterSeconds {o.RetryAfterSeconds} must be between 1 and 3600");
        if (o.IoBlockSize is < 4096 or > 1024 * 1024) errors.Add($"IoBlockSize {o.IoBlockSize} must be between 4096 and 1048576 bytes (default 32768)");
        if (o.RequireClientCertificate && o.AllowPlainAgents)
            errors.Add("RequireClientCertificate cannot be combined with AllowPlainAgents: plain ws:// carries no client certificate; drop one of --require-client-cert and --allow-plain-agents");
        if (o.DomainResolver is { } resolver && !System.Net.IPEndPoint.TryParse(resolver, out _))
            errors.Add($"DomainResolver \"{resolver}\" is not an address and port like 127.0.0.1:53 or [::1]:53");
        if (o.DomainCheckInterval < TimeSpan.FromSeconds(1) || o.DomainCheckInterval > TimeSpan.FromDays(1))
            errors.Add($"DomainCheckInterval {o.DomainCheckInterval} must be between 1 s and 1 day (default 60 s)");
        if (string.IsNullOrEmpty(o.Name) || o.Name.Length > 63 || !o.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_'))
            errors.Add($"Name \"{o.Name}\" must be 1-63 letters, digits, '-', '.' or '_' (e.g. edge-1)");
        return errors.Count > 0 ? ValidateOptionsResult.Fail(errors) : ValidateOptionsResult.Success;
    }
}
