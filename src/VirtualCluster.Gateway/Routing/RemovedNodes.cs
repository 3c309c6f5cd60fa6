using System.Net.WebSockets;
using Microsoft.Extensions.Logging;
using VirtualCluster.Api;
using VirtualCluster.Routing.Signaling;
using VirtualCluster.Routing.Tunnel;

namespace VirtualCluster.Gateway;

/// <summary>
/// Ends what a removed node still holds at this gateway: its tunnel, its signaling connection (and with it the peer
/// link, which the link manager drops when its peer leaves the hub) and its cached token check. Revoking a machine
/// credential stops new connections; without this, connections opened before the removal would stay open until they
/// dropped by themselves.
/// </summary>
internal sealed partial class RemovedNodes(TunnelHub tunnels, SignalingHub signaling, ITunnelAuthenticator authenticator, ILogger<RemovedNodes> logger)
{
    /// <summary>
    /// Applies one node list read from the control plane: every node listed as <see cref="NodeState.Left"/> (an admin's
    /// `nodes rm`, or a node that left) loses the connections it opened before <paramref name="listRequestedAt"/>, the
    /// time the list was asked for. A connection opened after that may come from a newer join, which the next list shows.
    /// </summary>
    /// <returns>How many connections were closed.</returns>
    public async ValueTask<int> ApplyAsync(IReadOnlyList<NodeView> nodes, DateTimeOffset listRequestedAt)
    {
        var closed = 0;
        foreach (var view in nodes)
        {
            var node = view.Node;
            if (node.State != NodeState.Left) continue;
            var tunnel = await tunnels.DisconnectAsync(node.Id, listRequestedAt).ConfigureAwait(false);
            var channel = signaling.Disconnect(TunnelSignalingAuthenticator.Cluster, node.Id, listRequestedAt,
                "this node has left the cluster or was removed by an admin");
            if (authenticator is ControlPlaneTunnelAuthenticator cached) cached.Forget(node.Id);
            if (tunnel || channel)
            {
                LogClosed(logger, node.Name, node.Id, tunnel, channel);
                closed += (tunnel ? 1 : 0) + (channel ? 1 : 0);
            }
        }
        return closed;
    }

    [LoggerMessage(6010, LogLevel.Warning, "Node {Name} ({NodeId}) has left the cluster or was removed: closed its connections to this gateway (tunnel {Tunnel}, signaling {Signaling})")]
    private static partial void LogClosed(ILogger logger, string name, string nodeId, bool tunnel, bool signaling);
}
