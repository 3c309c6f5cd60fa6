using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using VirtualCluster.Api;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Api;

/// <summary>Checks the bearer token of a request against the role an endpoint needs.</summary>
internal static class ApiAuth
{
    private const string PrincipalKey = "vc.principal";

    public static string? BearerToken(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }

    /// <summary>An endpoint filter that answers 401 for a missing or invalid token and 403 for the wrong role.</summary>
    public static EndpointFilterDelegate Require(string role, EndpointFilterDelegate next) => RequireAny([role], next);

    /// <summary>Like <see cref="Require"/>, accepting any of <paramref name="roles"/>.</summary>
    public static EndpointFilterDelegate RequireAny(string[] roles, EndpointFilterDelegate next) => async context =>
    {
        var http = context.HttpContext;
        var tokens = http.RequestServices.GetRequiredService<TokenService>();
        var token = BearerToken(http);
        var wanted = string.Join(" or ", roles);
        if (token is null)
            return ApiResults.Error(401, $"missing bearer token: send `Authorization: Bearer <token>` with a {wanted} token");
        var validation = await tokens.ValidateAsync(token);
        if (validation.Principal is null)
            return ApiResults.Error(401, $"invalid token: {validation.Error}");
        if (!roles.Contains(validation.Principal.Role))
            return ApiResults.Error(403, $"a {validation.Principal.Role} token cannot call this endpoint; it needs a {wanted} token");
        http.Items[PrincipalKey] = validation.Principal;
        return await next(context);
    };

    public static TokenPrincipal Principal(HttpContext context) => (TokenPrincipal)context.Items[PrincipalKey]!;
}
