using VirtualCluster.Routing.Signaling;
using VirtualCluster.Routing.Tunnel;

namespace VirtualCluster.Gateway;

/// <summary>
/// Signaling peers authenticate like tunnels: with their machine token, checked by the gateway's
/// <see cref="ITunnelAuthenticator"/> (the control plane's GET /v1/whoami for a standalone gateway, the signing key in
/// the web host). The peer name is the node id; every peer is in the gateway's one cluster.
/// </summary>
internal sealed class TunnelSignalingAuthenticator(ITunnelAuthenticator tunnels) : ISignalingAuthenticator
{
    public const string Cluster = TokenSignalingAuthenticator.DefaultCluster;

    public async ValueTask<SignalingAuthentication> AuthenticateAsync(string? token, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(token))
            return new(null, "missing bearer token: connect with `Authorization: Bearer <machine token>`");
        var (peer, error) = await tunnels.AuthenticateAsync(token, cancellationToken).ConfigureAwait(false);
        return peer is null ? new(null, error ?? "the token was refused") : new(new SignalingIdentity(Cluster, peer.NodeId), null);
    }
}
