using System.Text.RegularExpressions;
using Microsoft.IdentityModel.JsonWebTokens;

namespace VirtualCluster.Security;

public sealed partial class TokenService
{
    /// <summary>Longest lifetime of a service token: 30 days. Service tokens are handed to people and browsers, so they must expire.</summary>
    public static readonly TimeSpan MaxServiceTokenLifetime = TimeSpan.FromDays(30);

    /// <summary>Prefix of a service token's subject and scope: <c>service:&lt;name&gt;</c>.</summary>
    public const string ServiceScopePrefix = "service:";

    private const string ScopeClaim = "scope";

    /// <summary>The subject and scope a token for <paramref name="service"/> carries: <c>service:&lt;name&gt;</c>.</summary>
    public static string ServiceScope(string service) => ServiceScopePrefix + service;

    /// <summary>
    /// Issues a token that lets its bearer reach one service through the gateway: role <see cref="TokenRoles.Service"/>,
    /// subject and <c>scope</c> <c>service:&lt;name&gt;</c>, audience <see cref="Audience"/> (the cluster), and an expiry.
    /// </summary>
    /// <param name="service">The service's name (a DNS label, as in its spec).</param>
    /// <param name="lifetime">Positive and at most <see cref="MaxServiceTokenLifetime"/>.</param>
    /// <exception cref="ArgumentException">Not a service name, a lifetime out of range, or no <see cref="Audience"/> configured.</exception>
    public string IssueServiceToken(string service, TimeSpan lifetime)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(service);
        if (!ServiceNamePattern().IsMatch(service))
            throw new ArgumentException($"'{service}' is not a service name: 1 to 63 characters of a-z, 0-9 and '-', starting with a letter.", nameof(service));
        if (lifetime <= TimeSpan.Zero || lifetime > MaxServiceTokenLifetime)
            throw new ArgumentOutOfRangeException(nameof(lifetime), lifetime, $"A service token's lifetime must be positive and at most {MaxServiceTokenLifetime.TotalDays:0} days.");
        if (Audience is null)
            throw new ArgumentException("Service tokens name the cluster as their audience; create the TokenService with an audience (the cluster id).");
        var scope = ServiceScope(service);
        return Create(scope, TokenRoles.Service, lifetime, new Dictionary<string, object> { [ScopeClaim] = scope });
    }

    // A service token is handed out, so it must say which cluster and which service it is for, and when it ends.
    private TokenValidation AcceptService(JsonWebToken jwt, TokenPrincipal principal)
    {
        if (principal.ExpiresAt is null) return TokenValidation.Failure("service token has no expiry");
        if (Audience is null || principal.Audience is null) return TokenValidation.Failure("service token has no audience (cluster)");
        if (!principal.Subject.StartsWith(ServiceScopePrefix, StringComparison.Ordinal)
            || !jwt.TryGetPayloadValue<string>(ScopeClaim, out var scope) || scope != principal.Subject)
            return TokenValidation.Failure("service token has no valid service scope");
        return TokenValidation.Success(principal);
    }

    private static string? AudienceOf(JsonWebToken jwt)
    {
        var audiences = jwt.Audiences.ToList();
        return audiences.Count == 0 ? null : string.Join(",", audiences);
    }

    private static string Truncate(string text) => text.Length <= 64 ? text : text[..64] + "...";

    [GeneratedRegex("^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex ServiceNamePattern();
}
