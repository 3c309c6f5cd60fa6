using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using VirtualCluster.Routing;
using VirtualCluster.Routing.Tunnel;

namespace VirtualCluster.Gateway;

/// <summary>
/// How the proxy reaches a node: over its peer link when one is up (a data channel per connection), else through its
/// tunnel (the fallback when UDP is blocked), else not at all.
/// </summary>
internal sealed partial class GatewayDialer : IStreamDialer, INodePaths
{
    private readonly TunnelHub hub;
    private readonly PeerLinkService links;
    private readonly GatewayMetrics metrics;
    private readonly ILogger<GatewayDialer> logger;
    private readonly ConcurrentDictionary<string, long> tunnelDials = new(StringComparer.Ordinal);

    public GatewayDialer(TunnelHub hub, PeerLinkService links, GatewayMetrics metrics, ILogger<GatewayDialer> logger)
    {
        this.logger = logger;
        this.hub = hub;
        this.links = links;
        this.metrics = metrics;
        metrics.LinkPaths = () => Nodes().Select(PathOf);
    }

    public bool CanReach(string nodeId) => links.IsConnected(nodeId) || hub.CanReach(nodeId);

    /// <summary>True when the node ever had a link or a tunnel: for it, having neither now means "unreachable".</summary>
    public bool EverConnected(string nodeId) => hub.EverConnected(nodeId) || links.EverConnected(nodeId);

    public async ValueTask<Stream> DialAsync(string nodeId, int port, CancellationToken cancellationToken = default)
    {
        if (links.IsConnected(nodeId))
        {
            try
            {
                var stream = await links.DialAsync(nodeId, port, cancellationToken).ConfigureAwait(false);
                metrics.Dialed(links.Links.FirstOrDefault(l => l.Node == nodeId)?.Path ?? "direct");
                return stream;
            }
            catch (IOException e) when (hub.CanReach(nodeId))
            {
                // The link broke while opening: the tunnel still works. Said once per fallback, so a link that is
                // "connected" but carries nothing shows why.
                LogFellBack(logger, nodeId, e.Message);
            }
        }
        if (!hub.CanReach(nodeId)) throw new TunnelRefusedException($"node {nodeId} has no peer link or tunnel to this gateway now");
        var tunneled = await hub.DialAsync(nodeId, port, cancellationToken).ConfigureAwait(false);
        tunnelDials.AddOrUpdate(nodeId, 1, (_, n) => n + 1);
        metrics.Dialed("tunnel");
        return tunneled;
    }

    private static readonly object ViaTunnel = "tunnel", ViaAddress = "address";

    /// <summary>
    /// What a new connection to <paramref name="nodeId"/> would go over now: its peer link (a new object for every
    /// link), its tunnel, or its address. The proxy keeps one HTTP connection pool per path, so that once a link comes
    /// up (or is replaced) requests stop reusing connections kept alive over the old path.
    /// </summary>
    public object PathIdentity(string nodeId) => links.CurrentLink(nodeId) ?? (hub.CanReach(nodeId) ? ViaTunnel : ViaAddress);

    /// <summary>Connections opened to <paramref name="nodeId"/> through its tunnel.</summary>
    public long TunnelDials(string nodeId) => tunnelDials.GetValueOrDefault(nodeId);

    /// <summary>Nodes with a link (any state) or a tunnel.</summary>
    public IEnumerable<string> Nodes() => links.Links.Select(l => l.Node).Union(hub.Nodes, StringComparer.Ordinal);

    /// <summary>"direct" or "relayed" over a connected link, else "tunnel" when the tunnel is up, else "none".</summary>
    public string PathOf(string nodeId)
    {
        var link = links.Links.FirstOrDefault(l => l.Node == nodeId);
        if (link is { State: "connected", Path: { } path } && links.IsConnected(nodeId)) return path;
        return hub.CanReach(nodeId) ? "tunnel" : "none";
    }

    [LoggerMessage(6111, LogLevel.Information, "Peer link to {Node} could not open a channel ({Reason}); this connection goes through the tunnel")]
    private static partial void LogFellBack(ILogger logger, string node, string reason);
}
