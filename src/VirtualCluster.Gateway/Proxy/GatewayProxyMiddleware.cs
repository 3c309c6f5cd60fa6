using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace VirtualCluster.Gateway;

/// <summary>
/// Proxies <c>http://&lt;service&gt;.&lt;domain&gt;/</c> to a healthy instance of the service; every other host falls
/// through to the app (the gateway's own endpoints). An idempotent request without a body whose forwarding failed
/// before any response byte went out is tried again on another instance.
/// </summary>
internal sealed partial class GatewayProxyMiddleware(
    RequestDelegate next,
    IServiceRouteTable routes,
    EndpointSelector selector,
    InstanceConnector connector,
    IHttpForwarder forwarder,
    IEnumerable<IGatewayAccessCheck> accessChecks,
    IOptions<GatewayOptions> options,
    GatewayMetrics metrics,
    BrowserDirect.BrowserDirectHandler browserDirect,
    ILogger<GatewayProxyMiddleware> logger)
{
    private readonly IGatewayAccessCheck[] _checks = accessChecks.ToArray();
    private readonly GatewayOptions _options = options.Value;

    public async Task InvokeAsync(HttpContext context)
    {
        var host = context.Request.Host.Host;
        switch (HostNames.Classify(host, _options.Domain, out var service, out var error))
        {
            case HostNames.Kind.Gateway:
                // A custom domain of a service ("domains" in its spec) is routed like <service>.<domain>.
                if (host.Length > 0 && routes.FindByDomain(host) is { } byDomain)
                {
                    foreach (var check in _checks)
                        if (!await check.CheckAsync(context, byDomain, context.RequestAborted).ConfigureAwait(false)) return;
                    if (await browserDirect.TryHandleAsync(context, byDomain).ConfigureAwait(false)) return;
                    await ForwardAsync(context, byDomain).ConfigureAwait(false);
                    return;
                }
                await next(context).ConfigureAwait(false);
                return;
            case HostNames.Kind.Invalid:
                metrics.Answered("", 400);
                await ErrorPages.WriteAsync(context, 400, "Bad Host", $"{error}. Services are at http://<service>.{_options.Domain}{(context.Request.Host.Port is { } p ? $":{p}" : "")}/").ConfigureAwait(false);
                return;
        }
        var route = routes.Find(service);
        if (route is null)
        {
            metrics.Answered(service, 404);
            var detail = routes.Loaded
                ? $"no service named \"{service}\" is deployed in this cluster; `vcluster services` lists the deployed ones"
                : "the gateway has not read the service list from the control plane yet; try again in a moment";
            await ErrorPages.WriteAsync(context, routes.Loaded ? 404 : 503, routes.Loaded ? "Unknown service" : "Starting", detail,
                routes.Loaded ? null : _options.RetryAfterSeconds).ConfigureAwait(false);
            return;
        }
        foreach (var check in _checks)
            if (!await check.CheckAsync(context, route, context.RequestAborted).ConfigureAwait(false)) return;
        // An opted-in service's bootstrap page, service worker and signaling are the gateway's own, never proxied.
        if (await browserDirect.TryHandleAsync(context, route).ConfigureAwait(false)) return;
        await ForwardAsync(context, route).ConfigureAwait(false);
    }

    private async Task ForwardAsync(HttpContext context, ServiceRoute route)
    {
        var retryable = IsRetryable(context.Request);
        var tried = new List<string>();
        var config = new ForwarderRequestConfig { ActivityTimeout = _options.ActivityTimeout };
        while (true)
        {
            var endpoint = selector.Pick(route, tried);
            if (endpoint is null)
            {
                await NoInstanceAsync(context, route, tried.Count).ConfigureAwait(false);
                return;
            }
            tried.Add(endpoint.InstanceId);
            var prefix = new UriBuilder("http", endpoint.NodeAddress, endpoint.Port).Uri.ToString();
            selector.Started(endpoint);
            ForwarderError result;
            try
            {
                result = await forwarder.SendAsync(context, prefix, connector.For(endpoint.NodeId), config, HttpTransformer.Default).ConfigureAwait(false);
            }
            finally
            {
                selector.Finished(endpoint);
            }
            if (result == ForwarderError.None)
            {
                metrics.Answered(route.Name, context.Response.StatusCode);
                return;
            }
            var cause = context.Features.Get<IForwarderErrorFeature>()?.Exception;
            if (result is ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled
                or ForwarderError.UpgradeRequestCanceled or ForwarderError.UpgradeResponseCanceled)
            {
                return; // the client went away
            }
            if (result is ForwarderError.Request or ForwarderError.RequestTimedOut) selector.Failed(endpoint, _options.FailedEndpointCooldown);
            LogForwardFailed(logger, route.Name, endpoint.InstanceId, result, cause?.GetBaseException().Message ?? "");
            if (context.Response.HasStarted)
            {
                metrics.Answered(route.Name, 0);
                return; // bytes went out already: nothing can be done but end the response (YARP aborts it)
            }
            if (result is ForwarderError.Request or ForwarderError.RequestTimedOut && retryable && tried.Count < _options.MaxAttempts)
            {
                metrics.Retried(route.Name);
                context.Features.Set<IForwarderErrorFeature>(null);
                context.Response.Clear();
                context.Response.StatusCode = StatusCodes.Status200OK;
                continue;
            }
            metrics.Answered(route.Name, 502);
            await ErrorPages.WriteAsync(context, 502, "Bad Gateway",
                $"instance {endpoint.InstanceId} of \"{route.Name}\" did not answer ({Describe(result)}); {route.State}").ConfigureAwait(false);
            return;
        }
    }

    private async Task NoInstanceAsync(HttpContext context, ServiceRoute route, int tried)
    {
        // Instances listed by the control plane but not reachable now (tunnel gone) will be failed over: that is under way too.
        var underway = route.FailoverUnderway || route.Endpoints.Any(e => !selector.IsReachable(e)) || tried > 0 && route.Desired() > 0;
        if (underway)
        {
            metrics.Answered(route.Name, 503);
            await ErrorPages.WriteAsync(context, 503, "Service failing over",
                $"\"{route.Name}\" has no healthy instance right now and one is being started ({route.State}); retry shortly",
                _options.RetryAfterSeconds).ConfigureAwait(false);
            return;
        }
        metrics.Answered(route.Name, 502);
        await ErrorPages.WriteAsync(context, 502, "No instance is up",
            $"\"{route.Name}\" has no running instance ({route.State}); `vcluster status` and `vcluster events --service {route.Name}` say why").ConfigureAwait(false);
    }

    /// <summary>Safe to send again (RFC 9110 §9.2.2) and nothing of it is lost: an idempotent method without a body.</summary>
    private static bool IsRetryable(HttpRequest request) =>
        (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method)
            || HttpMethods.IsTrace(request.Method) || HttpMethods.IsPut(request.Method) || HttpMethods.IsDelete(request.Method))
        && request.ContentLength is null or 0
        && !request.Headers.ContainsKey("Transfer-Encoding");

    private static string Describe(ForwarderError error) => error switch
    {
        ForwarderError.Request => "could not connect or send the request",
        ForwarderError.RequestTimedOut => "timed out",
        ForwarderError.ResponseHeaders => "sent no valid response headers",
        _ => error.ToString(),
    };

    [LoggerMessage(6101, LogLevel.Information, "Forwarding to {Service} instance {Instance} failed: {Error} {Reason}")]
    private static partial void LogForwardFailed(ILogger logger, string service, string instance, ForwarderError error, string reason);
}

internal static class ServiceRouteExtensions
{
    public static int Desired(this ServiceRoute route) => route.Spec.Replicas;
}
