namespace VirtualCluster.Cli;

/// <summary>One control-plane URL.</summary>
/// <param name="Address">Base address, always ending in "/" so relative API paths keep any path prefix.</param>
/// <param name="Display">The URL as the user wrote it, for messages.</param>
internal sealed record ServerAddress(Uri Address, string Display)
{
    public override string ToString() => Display;
}

/// <summary>
/// Parses the control-plane URLs given to --server, VCLUSTER_SERVER or the config file's "server": one URL, or
/// several separated by commas (the control planes of a highly available cluster), tried in that order.
/// </summary>
internal static class ServerList
{
    /// <param name="text">The comma-separated URLs.</param>
    /// <param name="source">Where the text came from ("--server", "VCLUSTER_SERVER", ...), for error messages.</param>
    public static IReadOnlyList<ServerAddress> Parse(string text, string source)
    {
        // Empty entries ("a,,b", a trailing comma) are skipped, as the agent's --server does.
        var entries = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (entries.Length == 0)
            throw new CliException(ExitCodes.BadInput, $"no server URL in {source} '{text}': use an http:// or https:// URL such as {ConnectionSettings.DefaultServer}");

        var servers = new List<ServerAddress>(entries.Length);
        for (var i = 0; i < entries.Length; i++)
        {
            var where = entries.Length == 1 ? source : $"{source} (entry {i + 1} of {entries.Length})";
            var server = ParseOne(entries[i], where);
            // A URL listed twice would only be tried twice; keep its first place.
            if (!servers.Any(s => s.Address == server.Address)) servers.Add(server);
        }
        return servers;
    }

    private static ServerAddress ParseOne(string text, string where)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || string.IsNullOrEmpty(uri.Host)
            || !string.IsNullOrEmpty(uri.Query)
            || !string.IsNullOrEmpty(uri.Fragment))
        {
            throw new CliException(ExitCodes.BadInput,
                $"invalid server URL '{text}' in {where}: use an http:// or https:// URL such as {ConnectionSettings.DefaultServer}");
        }
        var address = uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
        return new ServerAddress(address, text.TrimEnd('/'));
    }
}
