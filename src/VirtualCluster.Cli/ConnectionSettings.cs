namespace VirtualCluster.Cli;

/// <summary>Where the control plane is and which token to present, after applying flag &gt; env &gt; config file &gt; default.</summary>
/// <param name="Servers">The control planes to try, in order (one, or several of a highly available cluster).</param>
/// <param name="Token">Bearer token.</param>
/// <param name="CaCertificateFile">PEM file of the cluster CA to trust for https control planes; null: the system's trust store.</param>
internal sealed record ConnectionSettings(IReadOnlyList<ServerAddress> Servers, string Token, string? CaCertificateFile = null)
{
    public const string DefaultServer = "https://127.0.0.1:7070";
    public const string CaCertVariable = "VCLUSTER_CA_CERT";
    public const string ServerVariable = "VCLUSTER_SERVER";
    public const string TokenVariable = "VCLUSTER_TOKEN";

    public static ConnectionSettings Resolve(string? serverFlag, string? tokenFlag, IReadOnlyDictionary<string, string?> environment, string? caCertFlag = null)
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

        var servers = Blank(serverFlag) is { } flag ? ServerList.Parse(flag, "--server")
            : environment.NonEmpty(ServerVariable) is { } variable ? ServerList.Parse(variable, ServerVariable)
            : Blank(Config()?.Server) is { } configured ? ServerList.Parse(configured, $"\"server\" in {Config()!.Path}")
            : ServerList.Parse(DefaultServer, "the default server");

        var token = Blank(tokenFlag)
            ?? environment.NonEmpty(TokenVariable)
            ?? Config()?.ResolveToken()
            ?? throw new CliException(ExitCodes.BadInput, MissingTokenMessage(environment));
        if (token.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new CliException(ExitCodes.BadInput, "the token contains spaces or control characters; check --token / VCLUSTER_TOKEN");

        var caCert = Blank(caCertFlag) is { } caFlag ? Path.GetFullPath(caFlag)
            : environment.NonEmpty(CaCertVariable) is { } caVariable ? Path.GetFullPath(caVariable)
            : CaCertFromConfig();
        string? CaCertFromConfig()
        {
            if (configLoaded) return config?.ResolveCaCert();
            // Flags and variables named server and token: a broken config file is not read for the CA alone.
            try { return Config()?.ResolveCaCert(); }
            catch (CliException) { return null; }
        }
        return new ConnectionSettings(servers, token, caCert);
    }

    private static string MissingTokenMessage(IReadOnlyDictionary<string, string?> environment)
    {
        var configPath = ConfigFile.Locate(environment) ?? "~/.vcluster/config.json";
        return $"no API token given: pass --token <token>, set {TokenVariable}, or put \"token\" (or \"tokenFile\") in {configPath}";
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
