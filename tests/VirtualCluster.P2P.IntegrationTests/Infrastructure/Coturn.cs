using System.Diagnostics;
using System.Text;

namespace VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>A real coturn (Debian's turnserver) process, optionally inside a network namespace. Disposing kills it.</summary>
public sealed class Coturn : IDisposable
{
    public const string User = "u";
    public const string Password = "p";
    public const string Realm = "vc";

    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _pidFile;

    private Coturn(string address, int port, string? netns, IEnumerable<string> extra)
    {
        Address = address;
        Port = port;
        _pidFile = Path.Combine(Path.GetTempPath(), $"vcp2p-turn-{Environment.ProcessId}-{port}-{Guid.NewGuid():N}.pid");
        var args = new List<string>
        {
            "-n", $"--listening-ip={address}", $"--relay-ip={address}", $"--listening-port={port}", "--lt-cred-mech",
            $"--user={User}:{Password}", $"--realm={Realm}", "--no-tls", "--no-dtls", "--no-cli", "--log-file=stdout",
            "--pidfile", _pidFile, "--min-port=49152", "--max-port=49999",
        };
        args.AddRange(extra);
        // A missing coturn fails the test with what to do: a skipped test would prove nothing. ./test.sh installs it as root.
        if (!Shell.Exists("turnserver"))
            throw new InvalidOperationException("coturn (turnserver) is not installed: run scripts/install-p2p-deps.sh as root (./test.sh does)");
        var info = netns is null ? new ProcessStartInfo("turnserver") : new ProcessStartInfo("ip");
        if (netns is not null) foreach (var a in new[] { "netns", "exec", netns, "turnserver" }) info.ArgumentList.Add(a);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.RedirectStandardOutput = info.RedirectStandardError = true;
        info.UseShellExecute = false;
        _process = new Process { StartInfo = info };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Address { get; }
    public int Port { get; }
    public int Pid => _process.Id;

    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    /// <summary>Starts coturn and waits until its listeners are up.</summary>
    public static async Task<Coturn> StartAsync(string address, int port, string? netns = null, params string[] extra)
    {
        var coturn = new Coturn(address, port, netns, extra);
        var done = await Task.WhenAny(coturn._ready.Task, Task.Delay(TimeSpan.FromSeconds(20)));
        if (done != coturn._ready.Task)
        {
            coturn.Dispose();
            throw new TimeoutException("coturn did not start within 20 s:\n" + coturn.Log);
        }
        return coturn;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            _ready.TrySetException(new InvalidOperationException("coturn exited:\n" + Log));
            return;
        }
        lock (_log) _log.AppendLine(line);
        if (line.Contains("Total General servers", StringComparison.Ordinal) || line.Contains("SQLite DB connection success", StringComparison.Ordinal))
            _ready.TrySetResult();
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        try { File.Delete(_pidFile); } catch (IOException) { }
    }
}
