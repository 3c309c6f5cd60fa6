using VirtualCluster.Security;

namespace VirtualCluster.Routing.Signaling;

/// <summary>Who a signaling connection speaks for: its cluster and its peer name there (an agent's node name, a gateway's name).</summary>
public sealed record SignalingIdentity(string Cluster, string Peer);

/// <summary>Outcome of authenticating a connection: an identity, or why it was refused.</summary>
public sealed record SignalingAuthentication(SignalingIdentity? Identity, string? Error);

/// <summary>Decides who a signaling connection is from its bearer token. The peer name always comes from here, never from a message.</summary>
public interface ISignalingAuthenticator
{
    /// <summary>Checks <paramref name="token"/>; never throws for bad input.</summary>
    ValueTask<SignalingAuthentication> AuthenticateAsync(string? token, CancellationToken cancellationToken = default);
}

/// <summary>
/// Accepts machine tokens (agents and gateways) of the clusters whose <see cref="TokenService"/>s it is given: the peer
/// name is the token's subject, the cluster its audience (or <see cref="DefaultCluster"/> for tokens without one).
/// </summary>
public sealed class TokenSignalingAuthenticator : ISignalingAuthenticator
{
    /// <summary>The cluster name of tokens that carry no audience.</summary>
    public const string DefaultCluster = "default";

    private readonly TokenService[] clusters;

    /// <param name="clusters">One token service per cluster served (its signing key and id).</param>
    public TokenSignalingAuthenticator(IEnumerable<TokenService> clusters)
    {
        ArgumentNullException.ThrowIfNull(clusters);
        this.clusters = [.. clusters];
        if (this.clusters.Length == 0) throw new ArgumentException("Give at least one cluster's TokenService.", nameof(clusters));
    }

    /// <inheritdoc />
    public async ValueTask<SignalingAuthentication> AuthenticateAsync(string? token, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(token))
            return new(null, "missing bearer token: connect with `Authorization: Bearer <machine token>`");
        string? error = null;
        foreach (var cluster in clusters)
        {
            var result = await cluster.ValidateAsync(token).ConfigureAwait(false);
            if (!result.IsValid)
            {
                error ??= result.Error;
                continue;
            }
            if (result.Principal.Role != TokenRoles.Machine)
                return new(null, $"a {result.Principal.Role} token cannot use signaling; it needs the machine token of an agent or gateway");
            return new(new SignalingIdentity(result.Principal.Audience ?? cluster.Audience ?? DefaultCluster, result.Principal.Subject), null);
        }
        return new(null, $"invalid token: {error}");
    }
}
