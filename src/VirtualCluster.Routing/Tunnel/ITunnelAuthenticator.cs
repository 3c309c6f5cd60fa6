using VirtualCluster.Security;

namespace VirtualCluster.Routing.Tunnel;

/// <summary>Who is at the other end of a tunnel: the node id of a machine token.</summary>
public sealed record TunnelPeer(string NodeId);

/// <summary>Checks the bearer token an agent presents when it opens its tunnel.</summary>
public interface ITunnelAuthenticator
{
    /// <summary>The peer when <paramref name="token"/> is a valid machine token, else null and the error to show.</summary>
    ValueTask<(TunnelPeer? Peer, string? Error)> AuthenticateAsync(string token, CancellationToken cancellationToken = default);
}

/// <summary>Checks tokens with the cluster's signing key (a gateway in the control plane's own process).</summary>
public sealed class SigningKeyTunnelAuthenticator(TokenService tokens) : ITunnelAuthenticator
{
    /// <inheritdoc />
    public async ValueTask<(TunnelPeer? Peer, string? Error)> AuthenticateAsync(string token, CancellationToken cancellationToken = default)
    {
        var validation = await tokens.ValidateAsync(token).ConfigureAwait(false);
        if (validation.Principal is null) return (null, $"invalid token: {validation.Error}");
        return validation.Principal.Role == TokenRoles.Machine
            ? (new TunnelPeer(validation.Principal.Subject), null)
            : (null, $"a {validation.Principal.Role} token cannot open a tunnel; agents use their machine token");
    }
}
