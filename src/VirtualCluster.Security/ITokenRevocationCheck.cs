namespace VirtualCluster.Security;

/// <summary>
/// A check <see cref="TokenService.ValidateAsync"/> makes after a token's signature and claims hold: whether what the
/// token speaks for was revoked since it was issued (a removed machine, for example). It sits in the token service so
/// every place that checks a token (the API, signaling, tunnels) honours a revocation.
/// </summary>
public interface ITokenRevocationCheck
{
    /// <summary>Null when the token may be used; otherwise why it may not (shown to the caller).</summary>
    ValueTask<string?> CheckAsync(TokenPrincipal principal);
}
