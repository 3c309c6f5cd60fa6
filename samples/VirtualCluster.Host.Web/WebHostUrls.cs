using System.Net;

namespace VirtualCluster.Host.Web;

/// <summary>The host's URLs as Kestrel endpoints this host sets up itself (see Program.cs).</summary>
internal static class WebHostUrls
{
    /// <summary>The URLs when none are configured: the API over TLS with the cluster CA, the gateway's stable URLs over http.</summary>
    public const string Default = "https://127.0.0.1:5001;http://127.0.0.1:5000";

    /// <summary>One URL of the host: https ones get the cluster CA's certificate, plain http ones take agents' TLS on the same port.</summary>
    public sealed record Endpoint(Uri Url, IPEndPoint Address)
    {
        public bool Https => Url.Scheme == "https";
    }

    /// <summary>
    /// The endpoints of <paramref name="urls"/> (';'-separated) when every one is http or https with an IP address,
    /// localhost, * or + as its host; null otherwise (a host name: Kestrel binds the URLs as given, an https one then
    /// needs a certificate in Kestrel's configuration, and agents need the gateway's --allow-plain-agents setting,
    /// VirtualCluster:Gateway:AllowPlainAgents, and ws:// URLs).
    /// </summary>
    public static IReadOnlyList<Endpoint>? Parse(string urls)
    {
        var endpoints = new List<Endpoint>();
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0").Replace("://+", "://0.0.0.0"), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                return null;
            if (uri.IsLoopback && !IPAddress.TryParse(uri.Host.Trim('[', ']'), out _))
                endpoints.Add(new Endpoint(new UriBuilder(uri) { Host = "127.0.0.1" }.Uri, new IPEndPoint(IPAddress.Loopback, uri.Port)));
            else if (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip)) endpoints.Add(new Endpoint(uri, new IPEndPoint(ip, uri.Port)));
            else return null;
        }
        return endpoints.Count > 0 ? endpoints : null;
    }
}
