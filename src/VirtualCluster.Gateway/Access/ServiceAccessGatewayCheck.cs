using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace VirtualCluster.Gateway.Access;

/// <summary>
/// Runs the service access check (<see cref="ServiceAccessChecker"/>) in the proxy, before anything is forwarded. The
/// gateway registers a checker; an app that composes the proxy without one refuses "access": "token" services
/// instead of letting them through.
/// </summary>
internal sealed class ServiceAccessGatewayCheck : IGatewayAccessCheck
{
    public async ValueTask<bool> CheckAsync(HttpContext context, ServiceRoute route, CancellationToken cancellationToken)
    {
        if (context.RequestServices.GetService<ServiceAccessChecker>() is { } checker)
            return await checker.CheckAsync(context, route.Name, route.Spec.Access).ConfigureAwait(false);
        if (route.Spec.Access == ServiceAccess.Public) return true;
        await ErrorPages.WriteAsync(context, 503, "Cannot check access",
            $"\"{route.Name}\" needs a service token, and this gateway has no access checker; register one with AddServiceAccess").ConfigureAwait(false);
        return false;
    }
}
