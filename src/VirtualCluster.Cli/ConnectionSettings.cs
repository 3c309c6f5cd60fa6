namespace VirtualCluster.Cli;

/// <summary>Where the control plane is and which token to present, after applying flag &gt; env &gt; config file &gt; default.</summary>
/// <param name="Server">Base address, always ending in "/" so relative API paths keep any path prefix.</param>
/// <param name="Display">The server as the user wrote it, for messages.</param>
/// <param name="Token">Bearer token.</param>
internal sealed record ConnectionSettings(Uri Server, string Display, string Token)
{
    public const string DefaultServer = "http://127.0.0.1:7070";
    public const string ServerVariable = "VCLUSTER_SERVER";
    public const string TokenVariable = "VCLUSTER_TOKEN";

    public static ConnectionSettings Resolve(string? serverFlag, string? tokenFlag, IReadOnlyDictionary<string, string?> environment)
    {
        // The config file is read only when a flag or variable leaves something open, so a broken file
        // does not get in the way of a fully specified command line.
        ConfigFile? config = null;
        var configLoaded = false;
        ConfigFile? Config()
        {
            if (!configLoaded)
            {
                config = ConfigFile.Load(environment);
                configLoaded = true;
            }
            return config;
        }

        var serverText = Blank(serverFlag)
            ?? environment.NonEmpty(ServerVariable)
            ?? Blank(Config()?.Server)
            ?? DefaultServer;
        var server = ParseServer(serverText);

        var token = Blank(tokenFlag)
            ?? environment.NonEmpty(TokenVariable)
            ?? Config()?.ResolveToken()
            ?? throw new CliException(ExitCodes.BadInput, MissingTokenMessage(environment));
        if (token.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new CliException(ExitCodes.BadInput, "the token contains spaces or control characters; check --token / VCLUSTER_TOKEN");

        return new ConnectionSettings(server, serverText.TrimEnd('/'), token);
    }

    private static Uri ParseServer(string text)
    {
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || string.IsNullOrEmpty(uri.Host)
            || !string.IsNullOrEmpty(uri.Query)
            || !string.IsNullOrEmpty(uri.Fragment))
        {
            throw new CliException(ExitCodes.BadInput,
                $"invalid server URL '{text}': use an http:// or https:// URL such as {DefaultServer}");
        }
        return uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
    }

    private static string MissingTokenMessage(IReadOnlyDictionary<string, string?> environment)
    {
        var configPath = ConfigFile.Locate(environment) ?? "~/.vcluster/config.json";
        return $"no API token given: pass --token <token>, set {TokenVariable}, or put \"token\" (or \"tokenFile\") in {configPath}";
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
