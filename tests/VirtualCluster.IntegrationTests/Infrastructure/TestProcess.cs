using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace VirtualCluster.IntegrationTests.Infrastructure;

/// <summary>A real child process whose output the test can wait on. Disposing kills its whole tree.</summary>
internal sealed partial class TestProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private TestProcess(Process process) => _process = process;

    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>
    /// Starts `dotnet dll args...` in the repository root with stdin kept open; inside network namespace
    /// <paramref name="netns"/> when given (`ip netns exec` replaces itself with dotnet, so <see cref="Pid"/> is dotnet's).
    /// </summary>
    public static TestProcess StartDotnet(string dll, IEnumerable<string> args, IDictionary<string, string>? env = null, string? netns = null)
    {
        var info = new ProcessStartInfo(netns is null ? "env" : "ip")
        {
            WorkingDirectory = RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (netns is not null) foreach (var a in new[] { "netns", "exec", netns, "env" }) info.ArgumentList.Add(a);
        // A test run started in the background (nohup, `&` in a script, some CI runners) inherits SIGINT and SIGQUIT as
        // ignored, and .NET then never delivers them: a Ctrl+C test would wait forever. env resets them to the default
        // and replaces itself with dotnet, so Pid is still dotnet's.
        foreach (var a in new[] { "--default-signal=INT,QUIT", "dotnet" }) info.ArgumentList.Add(a);
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) info.Environment[k] = v;
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = new Process { StartInfo = info };
        var result = new TestProcess(process);
        process.OutputDataReceived += (_, e) => result.Append(e.Data);
        process.ErrorDataReceived += (_, e) => result.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    /// <summary>Starts a program other than dotnet (a server nobody here wrote: prometheus, etcd), output captured.</summary>
    public static TestProcess StartProgram(string program, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(program)
        {
            WorkingDirectory = RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        var process = new Process { StartInfo = info };
        var result = new TestProcess(process);
        process.OutputDataReceived += (_, e) => result.Append(e.Data);
        process.ErrorDataReceived += (_, e) => result.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    /// <summary>Waits until the output contains <paramref name="text"/>; fails with the output so far.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        await Wait.UntilAsync(() => Task.FromResult(Output.Contains(text, StringComparison.Ordinal) || HasExited), timeout, $"output \"{text}\"");
        if (!Output.Contains(text, StringComparison.Ordinal))
            throw new Xunit.Sdk.XunitException($"process exited before printing \"{text}\":\n{Output}");
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"process {Pid} did not exit within {timeout}:\n{Output}");
        }
        return _process.ExitCode;
    }

    /// <summary>Sends a POSIX signal (SIGINT = 2, SIGKILL = 9, SIGTERM = 15).</summary>
    public void Signal(int signal) => Native.Kill(Pid, signal);

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}

internal static partial class Native
{
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);

    public static void Kill(int pid, int signal) => SysKill(pid, signal);

    /// <summary>True when the pid exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z" && state != "X";
        }
        catch (IOException)
        {
            return false;
        }
    }
}
