using VirtualCluster.Security;

namespace VirtualCluster.Replication.Volumes;

/// <summary>Decides whether a connection that presents <c>token</c> may push syncs of a volume into this node's replicas.</summary>
public interface IReplicaAuthenticator
{
    /// <summary>The sender's identity (a node id), or an error saying why it is refused.</summary>
    Task<(string? Sender, string? Error)> AuthenticateAsync(string token, string volumeId, CancellationToken cancellationToken = default);
}

/// <summary>
/// Accepts the cluster's machine tokens (role <c>machine</c>, ES256 JWTs the control plane issues at join), checked
/// with the cluster's public keys: senders are agents of this cluster and nothing else. The token's subject, the
/// sender's node id, is what the event log and the fencing checks name.
/// </summary>
public sealed class MachineTokenAuthenticator(Func<string, Task<TokenValidation>> validate) : IReplicaAuthenticator
{
    /// <summary>Validates with a <see cref="TokenService"/> that holds the cluster's public keys.</summary>
    public MachineTokenAuthenticator(TokenService tokens) : this(tokens.ValidateAsync) { }

    /// <inheritdoc />
    public async Task<(string? Sender, string? Error)> AuthenticateAsync(string token, string volumeId, CancellationToken cancellationToken = default)
    {
        var result = await validate(token).ConfigureAwait(false);
        if (!result.IsValid) return (null, $"the token is refused: {result.Error}");
        if (result.Principal.Role != TokenRoles.Machine) return (null, $"a {result.Principal.Role} token cannot push replicas; agents use their machine token");
        return (result.Principal.Subject, null);
    }
}
