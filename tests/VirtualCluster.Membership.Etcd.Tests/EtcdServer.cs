using System.Diagnostics;

namespace VirtualCluster.Membership.Etcd.Tests;

/// <summary>
/// A real etcd (Debian's etcd-server) on free loopback ports with a temp data directory, started for a test class
/// and killed after it. <see cref="RestartAsync"/> kills it with SIGKILL and starts it again on the same ports
/// and data, to break every client connection.
/// </summary>
public sealed class EtcdServer : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vc-etcd-").FullName;
    private readonly int _clientPort = FreePort();
    private readonly int _peerPort = FreePort();
    private Process? _process;

    public string ClientUrl => $"http://127.0.0.1:{_clientPort}";

    public string LogPath => Path.Combine(_directory, "etcd.log");

    /// <summary>The etcd binary: $ETCD_BINARY, else etcd on the PATH.</summary>
    public static string? FindBinary()
    {
        if (Environment.GetEnvironmentVariable("ETCD_BINARY") is { Length: > 0 } configured) return File.Exists(configured) ? configured : null;
        return (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':')
            .Select(dir => Path.Combine(dir, "etcd")).FirstOrDefault(File.Exists);
    }

    public async Task InitializeAsync() => await StartAsync();

    private async Task StartAsync()
    {
        var binary = FindBinary() ?? throw new InvalidOperationException(
            "etcd is not installed: run scripts/install-etcd.sh as root (or apt-get install etcd-server), or set ETCD_BINARY. ./test.sh does this by itself.");
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--name", "test", "--data-dir", Path.Combine(_directory, "data"),
            "--listen-client-urls", ClientUrl, "--advertise-client-urls", ClientUrl,
            "--listen-peer-urls", $"http://127.0.0.1:{_peerPort}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{_peerPort}",
            "--initial-cluster", $"test=http://127.0.0.1:{_peerPort}", "--log-level", "warn",
        }) info.ArgumentList.Add(arg);
        var log = new StreamWriter(new FileStream(LogPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.Exited += (_, _) => { lock (log) log.Dispose(); };
        process.EnableRaisingEvents = true;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"etcd exited with code {process.ExitCode}:\n{Tail()}");
            try
            {
                var health = await http.GetStringAsync(ClientUrl + "/health");
                if (health.Contains("\"health\":\"true\"", StringComparison.Ordinal)) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"etcd did not become healthy at {ClientUrl} within 60 s:\n{Tail()}");
            await Task.Delay(100);
        }
    }

    /// <summary>SIGKILLs etcd and starts it again on the same ports and data; returns when it is healthy.</summary>
    public async Task RestartAsync()
    {
        Kill();
        await StartAsync();
    }

    private void Kill()
    {
        if (_process is null) return;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        _process = null;
    }

    public string Tail()
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return string.Join('\n', new StreamReader(stream).ReadToEnd().Split('\n').TakeLast(20));
        }
        catch (IOException)
        {
            return "";
        }
    }

    public Task DisposeAsync()
    {
        Kill();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
