using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VirtualCluster.Agent.Connection;
using VirtualCluster.Agent.Supervision;
using VirtualCluster.P2P.Ice;
using VirtualCluster.Routing.PeerLinks;
using VirtualCluster.Routing.Signaling;

namespace VirtualCluster.Agent.Gateway;

/// <summary>
/// Answers peer links from the agent's gateways: a signaling connection to each gateway's hub (<c>/v1/signaling</c>,
/// machine token), and a <see cref="PeerLinkAcceptor"/> on it that bridges the gateway's data channels to this node's
/// instance ports. The cluster's STUN/TURN servers come from the control plane (GET /v1/p2p/config, every minute).
/// </summary>
internal sealed partial class PeerLinkAgentService(AgentOptions options, InstanceSupervisor supervisor, ControlPlaneClient controlPlane,
    GatewayConnectionTls tls, ILoggerFactory loggers, TimeProvider time) : BackgroundService
{
    private static readonly TimeSpan ConfigInterval = TimeSpan.FromMinutes(1);
    private readonly ILogger logger = loggers.CreateLogger<PeerLinkAgentService>();
    private volatile PeerLinkOptions current = new()
    {
        IncludeLoopback = options.PeerLinksOnLoopback,
        TransportPolicy = options.PeerLinksRelayOnly ? IceTransportPolicy.Relay : IceTransportPolicy.All,
    };

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var gateways = options.Gateways.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(g => new Uri(g)).ToList();
        if (gateways.Count == 0 || !options.PeerLinks) return;
        try
        {
            // The identity file appears once the agent has joined; until then there is nothing to authenticate with.
            AgentIdentity? identity;
            while ((identity = AgentIdentity.Load(options.DataDirectory)) is null)
                await Task.Delay(TimeSpan.FromMilliseconds(200), time, stoppingToken).ConfigureAwait(false);
            var clients = gateways.Select(g => new SignalingClient(new SignalingClientOptions
            {
                HubUri = HubUri(g),
                TokenProvider = _ => ValueTask.FromResult(AgentIdentity.Load(options.DataDirectory)?.Token ?? ""),
                ConfigureSocket = (socket, ct) => tls.ConfigureAsync(g, HubUri(g), socket, ct),
            }, time)).ToList();
            try
            {
                foreach (var client in clients) client.Start();
                var acceptors = clients.Select(c => new PeerLinkAcceptor(c, () => current, port => GatewayTunnelService.IsInstancePort(supervisor, port), loggers, time,
                    (service, port) => GatewayTunnelService.IsBrowserServicePort(supervisor, service, port))
                    .RunAsync(stoppingToken)).ToList();
                await RefreshConfigAsync(stoppingToken).ConfigureAwait(false);
                await Task.WhenAll(acceptors).ConfigureAwait(false);
            }
            finally
            {
                foreach (var client in clients) await client.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>wss://host:port/v1/signaling for a gateway's URL; ws:// only for an explicit ws:// URL (see <see cref="Routing.Tunnel.TunnelClient.TunnelUri"/>).</summary>
    internal static Uri HubUri(Uri gateway) => new UriBuilder(gateway)
    {
        Scheme = gateway.Scheme == "ws" ? "ws" : "wss",
        Path = gateway.AbsolutePath.TrimEnd('/') + SignalingEndpoints.DefaultPath,
    }.Uri;

    private async Task RefreshConfigAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var wait = ConfigInterval;
            try
            {
                var identity = AgentIdentity.Load(options.DataDirectory);
                if (identity is not null)
                {
                    var config = await controlPlane.P2PConfigAsync(identity, ct).ConfigureAwait(false);
                    var servers = new List<IceServer>();
                    foreach (var s in config.IceServers ?? [])
                    {
                        if (IceServer.TryParse(s.Urls, s.Username, s.Credential, out var server)) servers.Add(server);
                        else LogBadServer(logger, s.Urls);
                    }
                    current = new PeerLinkOptions
                    {
                        IceServers = servers,
                        IncludeLoopback = options.PeerLinksOnLoopback,
                        TransportPolicy = options.PeerLinksRelayOnly ? IceTransportPolicy.Relay : IceTransportPolicy.All,
                    };
                }
            }
            catch (Exception e) when (e is HttpRequestException or ControlPlaneRejectedException or System.Text.Json.JsonException
                                      or TaskCanceledException && !ct.IsCancellationRequested)
            {
                wait = TimeSpan.FromSeconds(5);
                LogConfigUnreachable(logger, e.Message);
            }
            await Task.Delay(wait, time, ct).ConfigureAwait(false);
        }
    }

    [LoggerMessage(5341, LogLevel.Warning, "Peer links: cannot read /v1/p2p/config ({Reason}); retrying in 5 s, host candidates only meanwhile")]
    private static partial void LogConfigUnreachable(ILogger logger, string reason);

    [LoggerMessage(5342, LogLevel.Warning, "Peer links: ICE server \"{Url}\" from the control plane is not usable; skipped")]
    private static partial void LogBadServer(ILogger logger, string url);
}
