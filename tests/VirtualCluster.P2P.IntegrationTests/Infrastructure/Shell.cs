using System.Diagnostics;

namespace VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>Runs short system commands (ip, iptables) and reports their output on failure.</summary>
public static class Shell
{
    public static (int ExitCode, string Output) Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(30_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 30 s");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    public static string Check(string file, params string[] args)
    {
        var (code, output) = Run(file, args);
        if (code != 0) throw new InvalidOperationException($"`{file} {string.Join(' ', args)}` failed ({code}): {output.Trim()}");
        return output;
    }

    public static bool Exists(string command)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':').Append("/usr/sbin").Append("/sbin"))
        {
            if (File.Exists(Path.Combine(dir, command))) return true;
        }
        return false;
    }

    public static bool IsRoot => Environment.IsPrivilegedProcess;
}
