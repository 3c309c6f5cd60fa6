using System.Diagnostics;

namespace VirtualCluster.Gateway.Tests.Dns;

/// <summary>The real `dig` (Debian dnsutils, BIND 9.18; installed by scripts/install-deps.sh as root).</summary>
internal static class Dig
{
    public const string Path = "/usr/bin/dig";

    /// <summary>Runs dig against 127.0.0.1:<paramref name="port"/> (one try, 2 s) and returns its output.</summary>
    public static async Task<string> AskAsync(int port, params string[] arguments)
    {
        Assert.True(File.Exists(Path), $"{Path} is missing: run `sudo scripts/install-deps.sh` (installs dnsutils)");
        var info = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["@127.0.0.1", "-p", port.ToString(), "+tries=1", "+time=2", .. arguments]) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try { await process.WaitForExitAsync(timeout.Token); }
        finally { if (!process.HasExited) process.Kill(entireProcessTree: true); }
        return await stdout + await stderr;
    }
}
