using System.Net;

namespace VirtualCluster.Host.Web;

/// <summary>Which of the host's URLs can also serve agents over TLS (see Program.cs).</summary>
internal static class AgentTlsUrls
{
    /// <summary>
    /// The endpoints of <paramref name="urls"/> (';'-separated) when every one is plain http with an IP address,
    /// localhost or * as its host; null otherwise (an https URL or a host name: Kestrel binds them as given, and agents
    /// then need the gateway's --allow-plain-agents setting, VirtualCluster:Gateway:AllowPlainAgents, and ws:// URLs).
    /// </summary>
    public static IReadOnlyList<IPEndPoint>? Parse(string urls)
    {
        var endpoints = new List<IPEndPoint>();
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0").Replace("://+", "://0.0.0.0"), UriKind.Absolute, out var uri) || uri.Scheme != "http") return null;
            if (uri.IsLoopback && !IPAddress.TryParse(uri.Host.Trim('[', ']'), out _)) endpoints.Add(new IPEndPoint(IPAddress.Loopback, uri.Port));
            else if (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip)) endpoints.Add(new IPEndPoint(ip, uri.Port));
            else return null;
        }
        return endpoints.Count > 0 ? endpoints : null;
    }
}
