using Microsoft.AspNetCore.Http;

namespace VirtualCluster.Gateway;

/// <summary>
/// A check that runs for every request to a known service, before anything is forwarded (and before a WebSocket
/// upgrade). Every registered check runs, in registration order; the first to answer false ends the request.
/// </summary>
public interface IGatewayAccessCheck
{
    /// <summary>True to let the request through; false after writing the response (401, 403, a redirect).</summary>
    ValueTask<bool> CheckAsync(HttpContext context, ServiceRoute route, CancellationToken cancellationToken);
}
