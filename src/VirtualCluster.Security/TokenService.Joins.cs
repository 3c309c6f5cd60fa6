using Microsoft.IdentityModel.JsonWebTokens;

namespace VirtualCluster.Security;

public sealed partial class TokenService
{
    /// <summary>Lifetime of a join token when none is asked for: short, since a leaked join token admits machines.</summary>
    public static readonly TimeSpan DefaultJoinTokenLifetime = TimeSpan.FromHours(1);

    /// <summary>Claim of a join token that names the cluster CA's fingerprint (sha256:...).</summary>
    public const string CaFingerprintClaim = "cah";

    /// <summary>Longest lifetime of a join token.</summary>
    public static readonly TimeSpan MaxJoinTokenLifetime = TimeSpan.FromDays(30);

    /// <summary>
    /// Issues a join token with its own id (the <c>jti</c>), which the control plane lists to count uses and revoke it.
    /// </summary>
    /// <param name="lifetime">Positive, at most <see cref="MaxJoinTokenLifetime"/>; null for no expiry (the bootstrap token only).</param>
    /// <param name="caFingerprint">
    /// The cluster CA's fingerprint, put in the <see cref="CaFingerprintClaim"/> claim so that a joining agent trusts the
    /// right control plane from the first byte (like kubeadm's discovery-token-ca-cert-hash).
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">The lifetime is not positive or too long.</exception>
    public (string Token, string Id) IssueJoinToken(TimeSpan? lifetime, string? caFingerprint = null)
    {
        if (lifetime is { } span && (span <= TimeSpan.Zero || span > MaxJoinTokenLifetime))
            throw new ArgumentOutOfRangeException(nameof(lifetime), span, $"A join token lives from 1 second to {MaxJoinTokenLifetime.TotalDays:0} days.");
        var id = Guid.NewGuid().ToString("N");
        var claims = new Dictionary<string, object> { [JwtRegisteredClaimNames.Jti] = id };
        if (caFingerprint is not null) claims[CaFingerprintClaim] = caFingerprint;
        return (Create("join", TokenRoles.Join, lifetime, claims), id);
    }
}
