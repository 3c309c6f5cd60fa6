using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Api;

/// <summary>
/// Writes an <see cref="EventKinds.Audit"/> event for every change a person makes through the API (any method but
/// GET and HEAD, after authorization): who, with which role, from which address, what, and the answer's status.
/// Agents' own calls (heartbeats) are not audited; they are the cluster talking to itself.
/// </summary>
internal static partial class ApiAudit
{
    public static EndpointFilterDelegate Filter(EndpointFilterDelegate next) => async context =>
    {
        var result = await next(context);
        var http = context.HttpContext;
        if (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method)) return result;
        var principal = ApiAuth.Principal(http);
        var status = result is IStatusCodeHttpResult { StatusCode: { } code } ? code : 200;
        var message = $"{principal.Subject} ({principal.Role}) from {ApiAuth.Address(http)}: {http.Request.Method} {http.Request.Path} -> {status}";
        try
        {
            var store = http.RequestServices.GetRequiredService<IClusterStore>();
            var time = http.RequestServices.GetRequiredService<TimeProvider>();
            await store.AppendEventAsync(new ClusterEvent(0, time.GetUtcNow(), EventKinds.Audit, principal.Subject, message), CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The change is made; losing its audit line must not turn the answer into an error.
            if (http.RequestServices.GetService<ILoggerFactory>()?.CreateLogger("VirtualCluster.ControlPlane.Api.Audit") is { } log)
                LogAuditFailed(log, message, e);
        }
        return result;
    };

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "Could not write the audit event \"{Message}\"")]
    private static partial void LogAuditFailed(ILogger logger, string message, Exception exception);
}
