using Microsoft.IdentityModel.JsonWebTokens;

namespace VirtualCluster.Security;

public sealed partial class TokenService
{
    /// <summary>Lifetime of a join token when none is asked for: short, since a leaked join token admits machines.</summary>
    public static readonly TimeSpan DefaultJoinTokenLifetime = TimeSpan.FromHours(1);

    /// <summary>Longest lifetime of a join token.</summary>
    public static readonly TimeSpan MaxJoinTokenLifetime = TimeSpan.FromDays(30);

    /// <summary>
    /// Issues a join token with its own id (the <c>jti</c>), which the control plane lists to count uses and revoke it.
    /// </summary>
    /// <param name="lifetime">Positive, at most <see cref="MaxJoinTokenLifetime"/>; null for no expiry (the bootstrap token only).</param>
    /// <exception cref="ArgumentOutOfRangeException">The lifetime is not positive or too long.</exception>
    public (string Token, string Id) IssueJoinToken(TimeSpan? lifetime)
    {
        if (lifetime is { } span && (span <= TimeSpan.Zero || span > MaxJoinTokenLifetime))
            throw new ArgumentOutOfRangeException(nameof(lifetime), span, $"A join token lives from 1 second to {MaxJoinTokenLifetime.TotalDays:0} days.");
        var id = Guid.NewGuid().ToString("N");
        return (Create("join", TokenRoles.Join, lifetime, new Dictionary<string, object> { [JwtRegisteredClaimNames.Jti] = id }), id);
    }
}
