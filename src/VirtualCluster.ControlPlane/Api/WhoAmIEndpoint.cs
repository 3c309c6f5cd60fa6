using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using VirtualCluster.Api;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Api;

/// <summary>GET /v1/whoami: the principal of the caller's token. Gateways check agents' tunnel tokens with it, without the signing key.</summary>
internal static class WhoAmIEndpoint
{
    public static void MapWhoAmI(this RouteGroupBuilder v1) =>
        v1.MapGet("/whoami", (HttpContext context) =>
        {
            var principal = ApiAuth.Principal(context);
            return ApiResults.Json(new WhoAmI(principal.Subject, principal.Role, principal.ExpiresAt));
        }).AddEndpointFilterFactory((_, next) => ApiAuth.RequireAny([TokenRoles.Viewer, TokenRoles.Machine], next));
}
