namespace VirtualCluster.Gateway;

/// <summary>One row of GET /v1/gateway/links: how the gateway reaches a node now.</summary>
/// <param name="Node">The node id.</param>
/// <param name="Path">direct | relayed (peer link up, from the selected ICE pair) | tunnel (no link, tunnel up) | none.</param>
/// <param name="State">The peer link's state: connecting | connected | failed, or off when peer links are switched off.</param>
/// <param name="RttMs">The link's round-trip time in ms, when measured.</param>
/// <param name="BytesSent">Bytes sent to the node over the link.</param>
/// <param name="BytesReceived">Bytes received from the node over the link.</param>
/// <param name="Since">When the link entered its state (null without a link).</param>
/// <param name="LastError">Why the last link attempt failed, if it did.</param>
/// <param name="Dials">Connections opened over the peer link.</param>
/// <param name="TunnelDials">Connections opened through the tunnel.</param>
public sealed record GatewayLinkView(string Node, string Path, string State, double? RttMs, long BytesSent, long BytesReceived,
    DateTimeOffset? Since, string? LastError, long Dials, long TunnelDials);

internal static class GatewayLinks
{
    /// <summary>Every node with a link, a tunnel or a routed instance.</summary>
    public static IReadOnlyList<GatewayLinkView> Report(GatewayDialer dialer, PeerLinkService links, IServiceRouteTable table)
    {
        var statuses = links.Links.ToDictionary(l => l.Node, StringComparer.Ordinal);
        var nodes = dialer.Nodes().Union(table.All.SelectMany(r => r.Endpoints).Select(e => e.NodeId), StringComparer.Ordinal).Order(StringComparer.Ordinal);
        return nodes.Select(node =>
        {
            var path = dialer.PathOf(node);
            if (!statuses.TryGetValue(node, out var s))
                return new GatewayLinkView(node, path, "off", null, 0, 0, null, null, 0, dialer.TunnelDials(node));
            return new GatewayLinkView(node, path, s.State, s.RttMs is { } rtt ? Math.Round(rtt, 3) : null, s.BytesSent, s.BytesReceived, s.Since,
                s.LastError, s.Dials, dialer.TunnelDials(node));
        }).ToList();
    }
}
