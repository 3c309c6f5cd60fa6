using VirtualCluster.Security;

namespace VirtualCluster.Gateway.Access;

/// <summary>
/// Checks the token a request to an <c>"access": "token"</c> service carries. A gateway beside the control plane
/// checks with the cluster's key (<see cref="TokenServiceValidator"/>); a standalone gateway asks the control plane
/// (<see cref="ControlPlaneTokenValidator"/>).
/// </summary>
public interface IServiceTokenValidator
{
    /// <summary>The token's principal, or why it was refused. Never throws for a bad token.</summary>
    /// <exception cref="HttpRequestException">The check could not be made (no control plane answered).</exception>
    Task<TokenValidation> ValidateAsync(string token, CancellationToken cancellationToken = default);
}

/// <summary>Checks tokens with the cluster's own <see cref="TokenService"/> (signing key and id).</summary>
public sealed class TokenServiceValidator(TokenService tokens) : IServiceTokenValidator
{
    /// <inheritdoc />
    public Task<TokenValidation> ValidateAsync(string token, CancellationToken cancellationToken = default) => tokens.ValidateAsync(token);
}
