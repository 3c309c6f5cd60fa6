using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace VirtualCluster.Gateway.Access;

/// <summary>
/// Runs the service access check (<see cref="ServiceAccessChecker"/>) in the proxy, before anything is forwarded. A
/// gateway without the cluster's signing key (no checker registered, e.g. the standalone console gateway) cannot
/// check service tokens, so it refuses "access": "token" services instead of letting them through.
/// </summary>
internal sealed class ServiceAccessGatewayCheck : IGatewayAccessCheck
{
    public async ValueTask<bool> CheckAsync(HttpContext context, ServiceRoute route, CancellationToken cancellationToken)
    {
        if (context.RequestServices.GetService<ServiceAccessChecker>() is { } checker)
            return await checker.CheckAsync(context, route.Name, route.Spec.Access).ConfigureAwait(false);
        if (route.Spec.Access == ServiceAccess.Public) return true;
        await ErrorPages.WriteAsync(context, 503, "Cannot check access",
            $"\"{route.Name}\" needs a service token, and this gateway has no signing key to check one; reach it through a gateway that runs with the control plane (the web host)").ConfigureAwait(false);
        return false;
    }
}
