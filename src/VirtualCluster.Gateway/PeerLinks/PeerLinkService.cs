using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Api;
using VirtualCluster.P2P.Ice;
using VirtualCluster.Routing.PeerLinks;
using VirtualCluster.Routing.Signaling;

namespace VirtualCluster.Gateway;

/// <summary>
/// Runs the gateway's peer links: joins its own signaling hub as <c>gateway:&lt;name&gt;</c>, reads the cluster's ICE
/// servers (GET /v1/p2p/config, again every minute), and keeps a link to every node on the hub.
/// </summary>
internal sealed partial class PeerLinkService(SignalingHub hub, ControlPlaneReader reader, IOptions<GatewayOptions> gatewayOptions,
    IOptions<PeerLinkOptions> linkOptions, ILoggerFactory loggers, TimeProvider time) : BackgroundService
{
    private static readonly TimeSpan TrackInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ConfigInterval = TimeSpan.FromMinutes(1);
    private readonly ILogger logger = loggers.CreateLogger<PeerLinkService>();
    private volatile PeerLinkOptions current = linkOptions.Value;
    private volatile PeerLinkManager? manager;

    /// <summary>True when peer links are switched on.</summary>
    public bool Enabled => gatewayOptions.Value.PeerLinks;

    public bool IsConnected(string node) => manager?.IsConnected(node) ?? false;

    public bool EverConnected(string node) => manager?.EverConnected(node) ?? false;

    /// <summary>The connected link to <paramref name="node"/> (a new object per link), or null.</summary>
    public object? CurrentLink(string node) => manager?.CurrentLink(node);

    public IReadOnlyList<PeerLinkStatus> Links => manager?.Links ?? [];

    /// <summary>The cluster's STUN/TURN servers as last read from the control plane.</summary>
    public IEnumerable<IceServer> IceServers => current.IceServers;

    public ValueTask<Stream> DialAsync(string node, int port, CancellationToken ct) =>
        manager is { } m ? m.DialAsync(node, port, ct) : ValueTask.FromException<Stream>(new IOException("peer links are off"));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = gatewayOptions.Value;
        if (!options.PeerLinks) return;
        current = With(current, current.IceServers, options);
        await using var participant = hub.AttachLocal(new SignalingIdentity(TunnelSignalingAuthenticator.Cluster, SignalingHub.LocalPeerPrefix + options.Name));
        var links = new PeerLinkManager(participant, () => current, loggers, time);
        manager = links;
        try
        {
            var config = RefreshConfigAsync(options, stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                links.Track(hub.PeersIn(TunnelSignalingAuthenticator.Cluster).Where(p => !p.Key.StartsWith(SignalingHub.LocalPeerPrefix, StringComparison.Ordinal)));
                await Task.Delay(TrackInterval, time, stoppingToken).ConfigureAwait(false);
            }
            await config.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await links.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task RefreshConfigAsync(GatewayOptions options, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var wait = ConfigInterval;
            try
            {
                var (config, status) = await reader.GetAsync<P2PConfig>("v1/p2p/config", options.ControlPlaneToken, ct).ConfigureAwait(false);
                if (config is null)
                {
                    LogConfigRefused(logger, status);
                }
                else
                {
                    var servers = new List<IceServer>();
                    foreach (var s in config.IceServers ?? [])
                    {
                        if (IceServer.TryParse(s.Urls, s.Username, s.Credential, out var server)) servers.Add(server);
                        else LogBadServer(logger, s.Urls);
                    }
                    current = With(current, servers, options);
                }
            }
            catch (HttpRequestException e)
            {
                wait = TimeSpan.FromSeconds(5);
                LogConfigUnreachable(logger, e.Message);
            }
            catch (System.Text.Json.JsonException e)
            {
                LogConfigRefused(logger, 0);
                _ = e;
            }
            try
            {
                await Task.Delay(wait, time, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static PeerLinkOptions With(PeerLinkOptions o, IList<IceServer> servers, GatewayOptions gateway) => new()
    {
        IceServers = servers,
        IncludeLoopback = gateway.PeerLinksOnLoopback || o.IncludeLoopback,
        TransportPolicy = gateway.PeerLinksRelayOnly ? IceTransportPolicy.Relay : o.TransportPolicy,
        ConnectTimeout = o.ConnectTimeout,
        InitialBackoff = o.InitialBackoff,
        MaxBackoff = o.MaxBackoff,
        UpgradeInterval = o.UpgradeInterval,
        OpenTimeout = o.OpenTimeout,
        HighWaterMark = o.HighWaterMark,
        MaxSessionsPerPeer = o.MaxSessionsPerPeer,
        SocketFactory = o.SocketFactory,
    };

    [LoggerMessage(5331, LogLevel.Warning, "Peer links: GET /v1/p2p/config answered {Status}; using host candidates only until it works")]
    private static partial void LogConfigRefused(ILogger logger, int status);

    [LoggerMessage(5332, LogLevel.Warning, "Peer links: cannot read /v1/p2p/config ({Reason}); retrying in 5 s")]
    private static partial void LogConfigUnreachable(ILogger logger, string reason);

    [LoggerMessage(5333, LogLevel.Warning, "Peer links: ICE server \"{Url}\" from the control plane is not usable; skipped")]
    private static partial void LogBadServer(ILogger logger, string url);
}
