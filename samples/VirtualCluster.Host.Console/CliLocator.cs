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
        if (File.Exists(apphost)) return Quote(apphost);
        var dll = Path.Combine(directory, "vcluster.dll");
        return File.Exists(dll) ? "dotnet " + Quote(dll) : null;
    }

    private static string Quote(string path) => path.Contains(' ', StringComparison.Ordinal) ? $"\"{path}\"" : path;
}
