using System.Diagnostics;

namespace VirtualCluster.Monitoring.Tests;

/// <summary>The real `promtool check metrics` (Debian package prometheus, installed by scripts/install-deps.sh as root).</summary>
internal static class Promtool
{
    public const string Path = "/usr/bin/promtool";

    /// <summary>Exit code and everything promtool printed about <paramref name="exposition"/>.</summary>
    public static async Task<(int ExitCode, string Output)> CheckMetricsAsync(string exposition)
    {
        if (!File.Exists(Path))
            throw new InvalidOperationException("promtool is not installed: run scripts/install-deps.sh as root (apt-get install -y --no-install-recommends prometheus)");
        var start = new ProcessStartInfo(Path, ["check", "metrics"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(exposition);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, (await stdout) + (await stderr));
    }
}
