namespace VirtualCluster.Host.Console;

/// <summary>
/// Finds the built `vcluster` CLI next to this host, so `local` can print a command that starts in a tenth of a
/// second instead of `dotnet run` (which checks the whole project graph on every call, about 2.5 s).
/// </summary>
/// <remarks>
/// The host's project builds the CLI with it (a project reference without the assembly), so both land in the
/// repository's artifacts folder: artifacts/bin/VirtualCluster.Host.Console/debug/ and
/// artifacts/bin/VirtualCluster.Cli/debug/vcluster (the apphost).
/// </remarks>
internal static class CliLocator
{
    /// <summary>The command that runs the CLI fastest: its apphost, else `dotnet vcluster.dll`; null when neither is built.</summary>
    public static string? FastCommand(string baseDirectory)
    {
        var pivot = new DirectoryInfo(baseDirectory.TrimEnd('/', '\\'));
        var bin = pivot.Parent?.Parent; // artifacts/bin
        if (bin is null) return null;
        var directory = Path.Combine(bin.FullName, "VirtualCluster.Cli", pivot.Name);
        var apphost = Path.Combine(directory, OperatingSystem.IsWindows() ? "vcluster.exe" : "vcluster");
        if (File.Exists(apphost)) return DotnetRootPrefix() + Quote(apphost);
        var dll = Path.Combine(directory, "vcluster.dll");
        return File.Exists(dll) ? "dotnet " + Quote(dll) : null;
    }

    /// <summary>
    /// "DOTNET_ROOT=/home/me/.dotnet " when this runtime is not where an apphost looks by itself (a default location
    /// such as /usr/share/dotnet or /usr/lib/dotnet, or DOTNET_ROOT), else "".
    /// </summary>
    private static string DotnetRootPrefix()
    {
        // The shared framework lives at <root>/shared/Microsoft.NETCore.App/<version>/.
        var framework = Path.GetDirectoryName(typeof(object).Assembly.Location);
        var root = framework is null ? null : Directory.GetParent(framework)?.Parent?.Parent?.FullName;
        if (root is null || !File.Exists(Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet"))) return "";
        string[] defaults = ["/usr/share/dotnet", "/usr/lib/dotnet", "/usr/local/share/dotnet", "/usr/lib64/dotnet", Environment.GetEnvironmentVariable("DOTNET_ROOT") ?? ""];
        return OperatingSystem.IsWindows() || defaults.Contains(root.TrimEnd('/'), StringComparer.Ordinal) ? "" : $"DOTNET_ROOT={Quote(root)} ";
    }

    private static string Quote(string path) => path.Contains(' ', StringComparison.Ordinal) ? $"\"{path}\"" : path;
}
