using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Users;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Api;

/// <summary>
/// Checks the bearer token of a request against what an endpoint needs. User roles are ranked (viewer &lt; operator
/// &lt; admin): an endpoint that needs an operator also takes an admin. A named user's token is checked against the
/// user directory, so a removed user is refused, and never grants more than the user holds now.
/// </summary>
internal static partial class ApiAuth
{
    private const string PrincipalKey = "vc.principal";

    public static string? BearerToken(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }

    /// <summary>An endpoint filter that answers 401 for a missing or invalid token and 403 for the wrong role.</summary>
    public static EndpointFilterDelegate Require(string role, EndpointFilterDelegate next) => RequireAny([role], next);

    /// <summary>Like <see cref="Require"/>, accepting any of <paramref name="roles"/>; a user role also accepts the roles above it.</summary>
    public static EndpointFilterDelegate RequireAny(string[] roles, EndpointFilterDelegate next) =>
        Filter(p => roles.Contains(p.Role) || roles.Any(r => TokenRoles.IsUserRole(r) && TokenRoles.Rank(p.Role) >= TokenRoles.Rank(r)),
            string.Join(" or ", roles.Select(r => TokenRoles.IsUserRole(r) && r != TokenRoles.Admin ? r + " (or higher)" : r)), next);

    private static EndpointFilterDelegate Filter(Func<TokenPrincipal, bool> allowed, string wanted, EndpointFilterDelegate next) => async context =>
    {
        var http = context.HttpContext;
        var (principal, refusal) = await AuthenticateAsync(http, wanted);
        if (refusal is not null) return refusal;
        if (!allowed(principal!))
            return Refuse(http, 403, $"{Article(principal!.Role)} {principal.Role} token cannot call this endpoint; it needs {Article(wanted)} {wanted} token", principal.Subject);
        if (CheckClientCertificate(http, principal!) is { } certificateRefusal) return certificateRefusal;
        http.Items[PrincipalKey] = principal;
        return await next(context);
    };

    private static async Task<(TokenPrincipal? Principal, IResult? Refusal)> AuthenticateAsync(HttpContext http, string wanted)
    {
        var token = BearerToken(http);
        if (token is null)
            return (null, Refuse(http, 401, $"missing bearer token: send `Authorization: Bearer <token>` with {Article(wanted)} {wanted} token", null));
        var validation = await http.RequestServices.GetRequiredService<TokenService>().ValidateAsync(token);
        if (validation.Principal is not { } principal)
            return (null, Refuse(http, 401, $"invalid token: {validation.Error}", null));
        if (principal.User is not { } name) return (principal, null);

        var user = await http.RequestServices.GetRequiredService<UserDirectory>().FindAsync(name, http.RequestAborted);
        if (user is null || user.Generation != principal.UserGeneration)
            return (null, Refuse(http, 401, $"invalid token: user \"{name}\" was removed; ask an admin for a new token", principal.Subject));
        return (principal with { Role = TokenRoles.Lower(principal.Role, user.Role) }, null);
    }

    /// <summary>A 403 for a check an endpoint makes itself (a machine acting for another node), logged like the filter's refusals.</summary>
    public static IResult Forbid(HttpContext http, string reason) =>
        Refuse(http, 403, reason, http.Items[PrincipalKey] is TokenPrincipal p ? p.Subject : null);

    /// <summary>A 401 for a credential an endpoint checks itself (a join token), logged and counted like the filter's refusals.</summary>
    public static IResult Unauthorized(HttpContext http, string reason, string? subject = null) => Refuse(http, 401, reason, subject);

    private static IResult Refuse(HttpContext http, int status, string reason, string? subject)
    {
        var services = http.RequestServices;
        services.GetService<ControlPlaneMetrics>()?.Refused(status);
        if (services.GetService<ILoggerFactory>()?.CreateLogger("VirtualCluster.ControlPlane.Api.Auth") is { } log)
            LogRefused(log, http.Request.Method, http.Request.Path.Value ?? "", Address(http), status, subject ?? "-", reason);
        return ApiResults.Error(status, reason);
    }

    private static string Article(string word) => word.Length > 0 && "aeiou".Contains(word[0], StringComparison.Ordinal) ? "an" : "a";

    /// <summary>The principal the filter accepted for this request.</summary>
    public static TokenPrincipal Principal(HttpContext context) => (TokenPrincipal)context.Items[PrincipalKey]!;

    /// <summary>The caller's address as the server saw it.</summary>
    public static string Address(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Refused {Method} {Path} from {Address}: {Status}, subject {Subject}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string method, string path, string address, int status, string subject, string reason);
}
