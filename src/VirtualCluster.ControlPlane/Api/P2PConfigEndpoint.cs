using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using VirtualCluster.Api;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Api;

/// <summary>GET /v1/p2p/config: the cluster's STUN/TURN servers for agents' and gateways' peer links.</summary>
internal static class P2PConfigEndpoint
{
    public static void MapP2PConfig(this RouteGroupBuilder v1) =>
        v1.MapGet("/p2p/config", (IOptions<P2POptions> options) =>
        {
            var o = options.Value;
            return ApiResults.Json(new P2PConfig([.. o.IceServers.Select(url => url.StartsWith("turn:", StringComparison.OrdinalIgnoreCase)
                ? new IceServerConfig(url, o.TurnUsername, o.TurnPassword)
                : new IceServerConfig(url))]));
        }).AddEndpointFilterFactory((_, next) => ApiAuth.RequireAny([TokenRoles.Admin, TokenRoles.Machine], next));
}
