using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Routing.Signaling;

namespace VirtualCluster.Gateway.BrowserDirect;

/// <summary>
/// The gateway's part of the browser-direct path, for services whose spec says <c>"browserDirect": true</c>: the
/// bootstrap page for a tab's navigation, the service worker, and the signaling socket (<see cref="BrowserSignalingSession"/>).
/// Runs after the access check, so a token service's cookie guards all three. Everything else of the service is
/// proxied as usual, which is also the fallback when no direct path comes up.
/// </summary>
internal sealed partial class BrowserDirectHandler(SignalingHub hub, PeerLinkService links, EndpointSelector selector, IOptions<GatewayOptions> options,
    IOptions<BrowserDirectOptions> limits, GatewayMetrics metrics, ILogger<BrowserDirectHandler> logger, TimeProvider time)
{
    private int MaxSessionsPerClient => limits.Value.MaxSessionsPerClient;

    private readonly ConcurrentDictionary<string, int> sessionsByClient = new(StringComparer.Ordinal);

    /// <summary>True when the request was the gateway's own (page, worker, signaling) and has been answered; false to proxy it.</summary>
    public async Task<bool> TryHandleAsync(HttpContext context, ServiceRoute route)
    {
        if (!route.Spec.BrowserDirect) return false;
        var path = context.Request.Path.Value ?? "/";
        if (path.StartsWith(BrowserDirectPaths.Prefix, StringComparison.Ordinal))
        {
            if (path == BrowserDirectPaths.Worker && (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)))
            {
                metrics.BrowserDirect("worker");
                await BrowserDirectAssets.WriteWorkerAsync(context).ConfigureAwait(false);
            }
            else if (path == BrowserDirectPaths.Signal)
            {
                await SignalAsync(context, route).ConfigureAwait(false);
            }
            else
            {
                await ErrorPages.WriteAsync(context, 404, "Not found", $"{BrowserDirectPaths.Prefix} holds only sw.js and signal (the browser-direct path)").ConfigureAwait(false);
            }
            return true;
        }
        if (!BrowserDirectPaths.WantsBootstrap(context.Request)) return false;
        metrics.BrowserDirect("page");
        await BrowserDirectAssets.WritePageAsync(context).ConfigureAwait(false);
        return true;
    }

    private async Task SignalAsync(HttpContext context, ServiceRoute route)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await ErrorPages.WriteAsync(context, 400, "WebSocket needed", "browser-direct signaling needs a WebSocket upgrade (GET with Upgrade: websocket)").ConfigureAwait(false);
            return;
        }
        if (!options.Value.PeerLinks)
        {
            await ErrorPages.WriteAsync(context, 503, "No direct path", "this gateway runs without peer links (--peer-links off), so it relays no browser signaling; the page uses the gateway").ConfigureAwait(false);
            return;
        }
        // Only instances whose node is on this gateway's signaling hub can be offered to.
        var offHub = route.Endpoints.Where(e => !hub.IsConnected(TunnelSignalingAuthenticator.Cluster, e.NodeId)).Select(e => e.InstanceId).ToList();
        if (selector.Pick(route, offHub) is not { } endpoint)
        {
            await ErrorPages.WriteAsync(context, 503, "No direct path",
                $"no instance of \"{route.Name}\" runs on a node that is on this gateway's signaling hub now; the page uses the gateway").ConfigureAwait(false);
            return;
        }
        var client = context.Connection.RemoteIpAddress?.ToString() ?? "?";
        if (sessionsByClient.AddOrUpdate(client, 1, (_, n) => n + 1) > MaxSessionsPerClient)
        {
            Release(client);
            LogTooMany(logger, client, MaxSessionsPerClient);
            await ErrorPages.WriteAsync(context, 429, "Too many signaling sessions",
                $"this address holds {MaxSessionsPerClient} browser-direct signaling sockets already; close some tabs or use the gateway", 5).ConfigureAwait(false);
            return;
        }
        try
        {
            metrics.BrowserDirect("signaling");
            await new BrowserSignalingSession(hub, options.Value.Name, links.IceServers, limits.Value, logger, time).RunAsync(context, route, endpoint).ConfigureAwait(false);
        }
        finally
        {
            Release(client);
        }
    }

    private void Release(string client)
    {
        if (sessionsByClient.AddOrUpdate(client, 0, (_, n) => n - 1) <= 0) sessionsByClient.TryRemove(KeyValuePair.Create(client, 0));
    }

    [LoggerMessage(6303, LogLevel.Warning, "Browser direct: {Client} refused a signaling socket: it holds {Max} already")]
    private static partial void LogTooMany(ILogger logger, string client, int max);
}
