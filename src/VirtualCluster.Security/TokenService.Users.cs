using System.Text.RegularExpressions;
using Microsoft.IdentityModel.JsonWebTokens;

namespace VirtualCluster.Security;

public sealed partial class TokenService
{
    /// <summary>Longest lifetime of a user token: 90 days. User tokens sit in config files on laptops, so they must expire.</summary>
    public static readonly TimeSpan MaxUserTokenLifetime = TimeSpan.FromDays(90);

    /// <summary>Prefix of a user token's subject: <c>user:&lt;name&gt;</c>.</summary>
    public const string UserSubjectPrefix = "user:";

    private const string UserGenerationClaim = "ugen";

    /// <summary>True when <paramref name="name"/> is a valid user name: 1 to 63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter.</summary>
    public static bool IsUserName(string? name) => name is not null && UserNamePattern().IsMatch(name);

    /// <summary>
    /// Issues a token for a named user: subject <c>user:&lt;name&gt;</c>, a user role, the user's generation (so removing
    /// the user kills the token even if a user of that name is added again), the cluster audience and an expiry.
    /// </summary>
    /// <param name="user">The user's name (see <see cref="IsUserName"/>).</param>
    /// <param name="role"><see cref="TokenRoles.Admin"/>, <see cref="TokenRoles.Operator"/> or <see cref="TokenRoles.Viewer"/>.</param>
    /// <param name="generation">The user's generation, from the user directory.</param>
    /// <param name="lifetime">Positive and at most <see cref="MaxUserTokenLifetime"/>.</param>
    /// <exception cref="ArgumentException">A bad name, role, generation or lifetime.</exception>
    public string IssueUserToken(string user, string role, string generation, TimeSpan lifetime)
    {
        if (!IsUserName(user))
            throw new ArgumentException($"'{user}' is not a user name: 1 to 63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter.", nameof(user));
        if (!TokenRoles.IsUserRole(role))
            throw new ArgumentException($"'{role}' is not a user role; use {TokenRoles.Admin}, {TokenRoles.Operator} or {TokenRoles.Viewer}.", nameof(role));
        ArgumentException.ThrowIfNullOrWhiteSpace(generation);
        if (lifetime <= TimeSpan.Zero || lifetime > MaxUserTokenLifetime)
            throw new ArgumentOutOfRangeException(nameof(lifetime), lifetime, $"A user token's lifetime must be positive and at most {MaxUserTokenLifetime.TotalDays:0} days.");
        return Create(UserSubjectPrefix + user, role, lifetime, new Dictionary<string, object> { [UserGenerationClaim] = generation });
    }

    // A user token is handed to a person: it must name a valid user, a user role, a generation and an expiry.
    private static TokenValidation AcceptUser(JsonWebToken jwt, TokenPrincipal principal)
    {
        if (!jwt.TryGetPayloadValue<string>(UserGenerationClaim, out var generation) || string.IsNullOrWhiteSpace(generation))
            return TokenValidation.Failure("user token has no user generation");
        if (!IsUserName(principal.Subject[UserSubjectPrefix.Length..]) || !TokenRoles.IsUserRole(principal.Role))
            return TokenValidation.Failure("user token has no valid user name or role");
        if (principal.ExpiresAt is null) return TokenValidation.Failure("user token has no expiry");
        return TokenValidation.Success(principal with { UserGeneration = generation });
    }

    [GeneratedRegex("^[a-z][a-z0-9._-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex UserNamePattern();
}
