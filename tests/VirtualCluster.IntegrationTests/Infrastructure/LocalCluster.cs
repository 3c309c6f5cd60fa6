using System.Text.RegularExpressions;

namespace VirtualCluster.IntegrationTests.Infrastructure;

/// <summary>
/// A cluster started the way a user starts it: `VirtualCluster.Host.Console local`, in a temp directory,
/// on free ports. Disposing stops it with SIGINT like Ctrl+C and kills whatever is left.
/// </summary>
public sealed partial class LocalCluster : IAsyncLifetime
{
    // 20000-39999 belong to local clusters (up to 6 per run); fixed ranges of other tests start at 42000.
    private static int _nextServicePorts = 20000;
    private TestProcess? _process;

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("vc-local-").FullName;
    public string Url { get; private set; } = "";
    /// <summary>Base URL of the cluster's gateway (on a free port, never the default 8080).</summary>
    public string GatewayUrl { get; private set; } = "";
    public int GatewayPort { get; private set; }
    public string AdminToken { get; private set; } = "";
    /// <summary>The cluster CA's fingerprint (the API is https, as `local` serves it).</summary>
    public string CaFingerprint { get; private set; } = "";
    public Dictionary<string, string> CliEnv { get; } = new();
    /// <summary>More arguments for `local` (e.g. --dns-listen).</summary>
    public string[] ExtraArguments { get; init; } = [];
    internal TestProcess Process => _process!;
    public string Output => _process?.Output ?? "";

    /// <summary>Pids of the control plane and agents, as `local` printed them.</summary>
    public IReadOnlyList<int> ChildPids => PidPattern().Matches(Output).Select(m => int.Parse(m.Groups[1].Value)).ToList();

    public async Task InitializeAsync()
    {
        var port = Wait.FreePort();
        // Each cluster gets its own 3000 service ports so clusters of successive tests never collide.
        var servicePorts = Interlocked.Add(ref _nextServicePorts, 3000) - 3000;
        Url = $"https://127.0.0.1:{port}";
        GatewayPort = Wait.FreePort();
        GatewayUrl = $"http://127.0.0.1:{GatewayPort}";
        CliEnv["VCLUSTER_CONFIG"] = Path.Combine(DataDirectory, "cli-config.json");
        CliEnv["NO_COLOR"] = "1";
        _process = TestProcess.StartDotnet(RepoPaths.HostDll,
            ["local", "--data-dir", DataDirectory, "--port", port.ToString(), "--agents", "3", "--service-ports", servicePorts.ToString(),
             "--gateway-port", GatewayPort.ToString(), .. ExtraArguments],
            CliEnv);
        // local itself gives the control plane and the agents 3 minutes each on a loaded machine.
        await _process.WaitForOutputAsync("local cluster ready", TimeSpan.FromMinutes(6));
        AdminToken = (await File.ReadAllTextAsync(Path.Combine(DataDirectory, "control-plane", "admin.token"))).Trim();
        CaFingerprint = TestTls.ReadFingerprint(Path.Combine(DataDirectory, "control-plane"));
        TestTls.Register(Url, CaFingerprint);
    }

    internal ApiClient Api(string? token = null) => new(Url, token ?? AdminToken);

    /// <summary>Stops like Ctrl+C and returns the exit code.</summary>
    public async Task<int> StopAsync()
    {
        _process!.Signal(2);
        return await _process.WaitForExitAsync(TimeSpan.FromMinutes(2));
    }

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            try { await StopAsync(); } catch (Xunit.Sdk.XunitException) { }
        }
        _process?.Dispose();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
    }

    [GeneratedRegex(@"\(pid (\d+)")]
    private static partial Regex PidPattern();
}
