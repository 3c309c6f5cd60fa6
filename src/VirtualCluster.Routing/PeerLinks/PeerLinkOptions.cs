using Microsoft.Extensions.Options;
using VirtualCluster.P2P.Dtls;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.PeerConnections;
using VirtualCluster.P2P.Transport;

namespace VirtualCluster.Routing.PeerLinks;

/// <summary>Settings of peer links (gateway side and agent side). Validated by <see cref="PeerLinkOptionsValidator"/>.</summary>
public sealed class PeerLinkOptions
{
    /// <summary>STUN/TURN servers of the cluster (from GET /v1/p2p/config). Empty = host candidates only (one LAN, loopback).</summary>
    public IList<IceServer> IceServers { get; set; } = [];

    /// <summary>Also offer loopback candidates: for gateway and agents on one machine (<c>local</c>, tests). Default false.</summary>
    public bool IncludeLoopback { get; set; }

    /// <summary>
    /// Which candidates this side uses: <see cref="IceTransportPolicy.All"/> (default) or only relayed ones
    /// (<see cref="IceTransportPolicy.Relay"/>, all traffic through TURN, as WebRTC's iceTransportPolicy "relay").
    /// </summary>
    public IceTransportPolicy TransportPolicy { get; set; } = IceTransportPolicy.All;

    /// <summary>How long one attempt (offer to SCTP up) may take before it counts as failed. Default 15 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>First wait after a failed attempt; doubles per failure (plus up to 25 % jitter). Default 500 ms.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait between attempts. Default 30 s.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>While a link is relayed, how often a fresh link is tried in the hope of a direct path. Default 30 s.</summary>
    public TimeSpan UpgradeInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long opening one proxied connection (channel open + the node's answer) may take. Default 10 s.</summary>
    public TimeSpan OpenTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Bytes a proxied connection may have queued in its channel before writes wait (backpressure). Default 1 MiB.</summary>
    public long HighWaterMark { get; set; } = 1024 * 1024;

    /// <summary>Agent side: peer connections kept per gateway (the live one plus upgrade attempts); older ones are closed. Default 4.</summary>
    public int MaxSessionsPerPeer { get; set; } = 4;

    /// <summary>Binds the ICE sockets; real UDP when null. Tests use it to make UDP unusable.</summary>
    public Func<System.Net.IPEndPoint, IDatagramSocket>? SocketFactory { get; set; }

    /// <summary>
    /// Probe for larger datagrams than 1200 bytes (PMTU discovery, RFC 8899): both ends of a peer link are this stack,
    /// so the probes are safe, and where the path carries them (loopback, jumbo-frame LANs) the link carries up to
    /// 16 KiB per DTLS record, several times less CPU per byte. A path that drops them keeps 1200. Default true.
    /// </summary>
    public bool PathMtuProbing { get; set; } = true;

    /// <summary>The peer-connection settings for one link.</summary>
    public PeerConnectionOptions ForConnection() => new()
    {
        Ice = new IceAgentOptions { Servers = [.. IceServers], IncludeLoopback = IncludeLoopback, TransportPolicy = TransportPolicy },
        Dtls = new DtlsTransportOptions { MaxProbeMtu = PathMtuProbing ? DtlsTransportOptions.MaxRecordDatagram : 0 },
    };
}

/// <summary>Checks <see cref="PeerLinkOptions"/>; every message names the setting and the fix.</summary>
public sealed class PeerLinkOptionsValidator : IValidateOptions<PeerLinkOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, PeerLinkOptions o)
    {
        var errors = new List<string>();
        if (o.IceServers is null) errors.Add("IceServers is null: use an empty list for host candidates only");
        Check(errors, nameof(o.ConnectTimeout), o.ConnectTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));
        Check(errors, nameof(o.InitialBackoff), o.InitialBackoff, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(5));
        Check(errors, nameof(o.MaxBackoff), o.MaxBackoff, o.InitialBackoff, TimeSpan.FromHours(1));
        Check(errors, nameof(o.UpgradeInterval), o.UpgradeInterval, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        Check(errors, nameof(o.OpenTimeout), o.OpenTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(5));
        if (o.HighWaterMark is < 16 * 1024 or > 256L * 1024 * 1024) errors.Add($"HighWaterMark {o.HighWaterMark} must be between 16 KiB and 256 MiB (default 1 MiB)");
        if (o.MaxSessionsPerPeer is < 1 or > 64) errors.Add($"MaxSessionsPerPeer {o.MaxSessionsPerPeer} must be between 1 and 64 (default 4)");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Throws <see cref="OptionsValidationException"/> listing every problem.</summary>
    public static void ThrowIfInvalid(PeerLinkOptions options)
    {
        var result = new PeerLinkOptionsValidator().Validate(null, options);
        if (result.Failed) throw new OptionsValidationException(nameof(PeerLinkOptions), typeof(PeerLinkOptions), result.Failures);
    }

    private static void Check(List<string> errors, string name, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max) errors.Add($"{name} {value} must be between {min} and {max}");
    }
}
