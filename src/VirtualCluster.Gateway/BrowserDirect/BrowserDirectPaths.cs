using Microsoft.AspNetCore.Http;

namespace VirtualCluster.Gateway.BrowserDirect;

/// <summary>
/// Where the browser-direct path lives on a service's own origin, and which requests get the bootstrap page. Only a
/// top-level navigation (Sec-Fetch-Dest: document) gets it: the page's frame, its service worker's fetches and clients
/// without Fetch Metadata (curl, scripts) are proxied as always, so the page never nests itself and nothing but a
/// browser tab changes behaviour.
/// </summary>
internal static class BrowserDirectPaths
{
    /// <summary>The prefix of the gateway's own paths on an opted-in service's origin (never forwarded to the instance).</summary>
    public const string Prefix = "/.vc/direct/";

    /// <summary>The service worker's script (its scope is the whole origin).</summary>
    public const string Worker = Prefix + "sw.js";

    /// <summary>The signaling WebSocket.</summary>
    public const string Signal = Prefix + "signal";

    /// <summary>Sent by the service worker on fallback requests, so that the gateway proxies them whatever they look like.</summary>
    public const string FallbackHeader = "X-VC-Direct";

    /// <summary>True when the request is the tab's own navigation, which gets the bootstrap page.</summary>
    public static bool WantsBootstrap(HttpRequest request) =>
        HttpMethods.IsGet(request.Method)
        && !request.Headers.ContainsKey(FallbackHeader)
        && request.Headers["Sec-Fetch-Dest"] == "document"
        && request.Headers["Sec-Fetch-Mode"] == "navigate";
}
