using System.Diagnostics.CodeAnalysis;
using VirtualCluster.Routing.Signaling;

namespace VirtualCluster.Routing.BrowserDirect;

/// <summary>
/// The signaling name a gateway gives a browser it relays for: <c>gateway:&lt;gateway&gt;/browser/&lt;service&gt;/&lt;id&gt;</c>.
/// It starts with <see cref="SignalingHub.LocalPeerPrefix"/>, so only a gateway's in-process participant can carry it
/// (the hub refuses WebSocket peers with that prefix): an agent can trust the service named in it, because the gateway
/// put it there after checking the browser's access to that service.
/// </summary>
public static class BrowserPeerName
{
    private const string Marker = "/browser/";

    /// <summary>The name for a browser session of <paramref name="service"/> relayed by gateway <paramref name="gateway"/>.</summary>
    public static string For(string gateway, string service, string id) => $"{SignalingHub.LocalPeerPrefix}{gateway}{Marker}{service}/{id}";

    /// <summary>True when <paramref name="peer"/> is a browser session's name; <paramref name="service"/> is the service it may reach.</summary>
    public static bool TryParse(string peer, [NotNullWhen(true)] out string? service)
    {
        service = null;
        if (!peer.StartsWith(SignalingHub.LocalPeerPrefix, StringComparison.Ordinal)) return false;
        var marker = peer.IndexOf(Marker, StringComparison.Ordinal);
        if (marker < 0) return false;
        var rest = peer.AsSpan(marker + Marker.Length);
        var slash = rest.IndexOf('/');
        if (slash <= 0 || slash == rest.Length - 1) return false;
        service = rest[..slash].ToString();
        return true;
    }
}
