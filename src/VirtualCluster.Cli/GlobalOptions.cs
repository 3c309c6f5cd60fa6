using System.CommandLine;

namespace VirtualCluster.Cli;

/// <summary>Options accepted by every command.</summary>
internal sealed class GlobalOptions
{
    public Option<string?> Server { get; } = new("--server")
    {
        Description = "Control plane URL, or several, comma-separated (tried in turn when one is unreachable or has no leader). "
            + $"Else {ConnectionSettings.ServerVariable}, the config file, or {ConnectionSettings.DefaultServer}.",
        HelpName = "url[,url...]",
        Recursive = true,
    };

    public Option<string?> Token { get; } = new("--token")
    {
        Description = $"API token (else {ConnectionSettings.TokenVariable} or the config file's token / tokenFile).",
        HelpName = "token",
        Recursive = true,
    };

    public Option<string?> CaCert { get; } = new("--ca-cert")
    {
        Description = $"PEM file of the cluster CA to trust for https control planes (the control plane's data directory has it as ca.crt); else {ConnectionSettings.CaCertVariable} or the config file's caCert, else the system's trust store.",
        HelpName = "file",
        Recursive = true,
    };

    /// <summary>--output table|json, for the read commands.</summary>
    public static Option<string> CreateOutputOption()
    {
        var option = new Option<string>("--output", "-o")
        {
            Description = "Output format: table or json.",
            HelpName = "table|json",
            DefaultValueFactory = _ => "table",
        };
        option.AcceptOnlyFromAmong("table", "json");
        return option;
    }
}
