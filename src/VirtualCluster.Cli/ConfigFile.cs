using System.Text.Json;

namespace VirtualCluster.Cli;

/// <summary>
/// The optional user config file: <c>{"server": "...", "token": "...", "tokenFile": "...", "caCert": "..."}</c>.
/// Its path comes from VCLUSTER_CONFIG, else ~/.vcluster/config.json. "server" is one URL or several,
/// comma-separated, exactly like --server.
/// </summary>
internal sealed record ConfigFile(string Path, string? Server, string? Token, string? TokenFile, string? CaCert = null)
{
    public const string PathVariable = "VCLUSTER_CONFIG";

    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Where the config file is looked for, or null when no home directory is known.</summary>
    public static string? Locate(IReadOnlyDictionary<string, string?> environment)
    {
        var explicitPath = environment.NonEmpty(PathVariable);
        if (explicitPath is not null) return explicitPath;
        var home = environment.NonEmpty("HOME") ?? environment.NonEmpty("USERPROFILE");
        return home is null ? null : System.IO.Path.Combine(home, ".vcluster", "config.json");
    }

    /// <summary>Reads the config file; null when the default file does not exist. A broken file is a usage error.</summary>
    public static ConfigFile? Load(IReadOnlyDictionary<string, string?> environment)
    {
        var path = Locate(environment);
        if (path is null) return null;
        if (!File.Exists(path))
        {
            // The default file is optional, but a path the user named explicitly must exist.
            if (environment.NonEmpty(PathVariable) is not null)
                throw new CliException(ExitCodes.BadInput, $"config file {path} (from {PathVariable}) does not exist");
            return null;
        }

        try
        {
            var text = File.ReadAllText(path);
            var content = JsonSerializer.Deserialize<Content>(text, Options)
                ?? throw new JsonException("the file holds null instead of an object");
            if (content.Servers is not null)
            {
                // Would otherwise be ignored silently, and the CLI would talk to the default server instead.
                throw new CliException(ExitCodes.BadInput,
                    $"config file {path} has \"servers\"; list the control planes in \"server\", separated by commas: {Example}");
            }
            return new ConfigFile(path, ServerText(content.Server, path), content.Token, content.TokenFile, content.CaCert);
        }
        catch (JsonException e)
        {
            throw new CliException(ExitCodes.BadInput, $"config file {path} is not valid: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.BadInput, $"cannot read config file {path}: {e.Message}");
        }
    }

    /// <summary>The token from "token", else read from "tokenFile" (relative to the config file), else null.</summary>
    public string? ResolveToken()
    {
        if (!string.IsNullOrWhiteSpace(Token)) return Token.Trim();
        if (string.IsNullOrWhiteSpace(TokenFile)) return null;

        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path)) ?? ".";
        var tokenPath = System.IO.Path.GetFullPath(TokenFile, directory);
        string token;
        try
        {
            token = File.ReadAllText(tokenPath).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.BadInput, $"cannot read the token file {tokenPath} named by \"tokenFile\" in {Path}: {e.Message}");
        }
        if (token.Length == 0)
            throw new CliException(ExitCodes.BadInput, $"the token file {tokenPath} named by \"tokenFile\" in {Path} is empty");
        return token;
    }

    /// <summary>"caCert" as a full path (relative to the config file's folder), or null.</summary>
    public string? ResolveCaCert()
    {
        if (string.IsNullOrWhiteSpace(CaCert)) return null;
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path)) ?? ".";
        return System.IO.Path.GetFullPath(CaCert, directory);
    }

    private const string Example = "\"server\": \"http://10.0.0.5:7070,http://10.0.0.6:7070\"";

    private static string? ServerText(JsonElement? server, string path) => server?.ValueKind switch
    {
        null or JsonValueKind.Null => null,
        JsonValueKind.String => server.Value.GetString(),
        _ => throw new CliException(ExitCodes.BadInput,
            $"config file {path}: \"server\" must be a string holding one URL, or several separated by commas: {Example}"),
    };

    private sealed record Content(JsonElement? Server, string? Token, string? TokenFile, JsonElement? Servers, string? CaCert);
}
