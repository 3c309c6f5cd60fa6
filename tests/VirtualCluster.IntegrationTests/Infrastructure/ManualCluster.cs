using System.Net.Http.Json;
using VirtualCluster.Api;

namespace VirtualCluster.IntegrationTests.Infrastructure;

/// <summary>
/// A control plane and agents started one by one (so each agent can get its own flags and be signalled on its own),
/// in a temp directory, on free ports. Disposing kills every process tree it started, then any workload still
/// carrying one of its node ids, so a failed test leaves nothing behind.
/// </summary>
internal sealed class ManualCluster : IAsyncDisposable
{
    // Below Linux's ephemeral range (32768-60999), so no outgoing connection can be holding a service port.
    private static int _nextServicePorts = 20000 + Environment.ProcessId % 4 * 3000;
    private readonly List<TestProcess> _processes = [];
    private readonly HashSet<string> _nodeIds = [];
    private readonly Dictionary<string, string[]> _agentArgs = new(StringComparer.Ordinal);

    private ManualCluster(string directory, string url)
    {
        Directory = directory;
        Url = url;
    }

    public string Directory { get; }
    public string Url { get; }
    public string AdminToken { get; private set; } = "";
    public TestProcess ControlPlane { get; private set; } = null!;
    public Dictionary<string, TestProcess> Agents { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, string> CliEnv => new()
    {
        ["VCLUSTER_SERVER"] = Url, ["VCLUSTER_TOKEN"] = AdminToken, ["VCLUSTER_CONFIG"] = Path.Combine(Directory, "none.json"), ["NO_COLOR"] = "1",
        ["VCLUSTER_CA_CERT"] = Path.Combine(Directory, "cp", "ca.crt"),
    };

    /// <summary>Starts a control plane and <paramref name="agents"/> agents (node-1 ...), waiting until all are alive.</summary>
    public static async Task<ManualCluster> StartAsync(int agents, Func<int, IEnumerable<string>>? agentArgs = null,
        IEnumerable<string>? controlPlaneArgs = null)
    {
        var cluster = new ManualCluster(System.IO.Directory.CreateTempSubdirectory("vc-manual-").FullName, $"https://127.0.0.1:{Wait.FreePort()}");
        try
        {
            await cluster.StartControlPlaneAsync(controlPlaneArgs ?? []);
            var firstPort = Interlocked.Add(ref _nextServicePorts, agents * 1000) - agents * 1000;
            if (firstPort + agents * 1000 > 32000) firstPort = 20000;
            for (var i = 1; i <= agents; i++) cluster.StartAgent(i, firstPort + (i - 1) * 1000, agentArgs?.Invoke(i) ?? []);
            using var api = cluster.Api();
            await Wait.UntilAsync(async () => (await api.StatusAsync()).Nodes.Count(n => n.Node.State == NodeState.Alive) == agents,
                TimeSpan.FromSeconds(90), $"{agents} agents to join");
            foreach (var node in (await api.StatusAsync()).Nodes) cluster._nodeIds.Add(node.Node.Id);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private async Task StartControlPlaneAsync(IEnumerable<string> extra)
    {
        var dir = Path.Combine(Directory, "cp");
        ControlPlane = Track(TestProcess.StartDotnet(RepoPaths.HostDll, ["control-plane", "--data-dir", dir, "--listen", Url, .. extra]));
        var tokenFile = Path.Combine(dir, "admin.token");
        await Wait.UntilAsync(() => Task.FromResult(File.Exists(tokenFile) || ControlPlane.HasExited), TimeSpan.FromSeconds(60), "admin.token");
        AdminToken = (await File.ReadAllTextAsync(tokenFile)).Trim();
        // The API is https with the cluster's own CA (written before the token files): trust exactly that CA.
        TestTls.Register(Url, TestTls.ReadFingerprint(dir));
        using var api = Api();
        await Wait.UntilAsync(api.HealthyAsync, TimeSpan.FromSeconds(60), "control plane health");
    }

    private void StartAgent(int index, int firstPort, IEnumerable<string> extra)
    {
        var name = $"node-{index}";
        _agentArgs[name] =
        [
            "agent", "--server", Url, "--join-token-file", Path.Combine(Directory, "cp", "join.token"), "--name", name,
            "--data-dir", Path.Combine(Directory, name), "--ports", $"{firstPort}-{firstPort + 999}", .. extra,
        ];
        Agents[name] = Track(TestProcess.StartDotnet(RepoPaths.HostDll, _agentArgs[name]));
    }

    /// <summary>kill -9 of the agent process alone (its workloads keep running), as a crash of the agent would do.</summary>
    public async Task KillAgentAsync(string name)
    {
        Agents[name].Signal(ProcessTree.SigKill);
        await Agents[name].WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Starts the agent again with the same name, data directory and ports.</summary>
    public void RestartAgent(string name) => Agents[name] = Track(TestProcess.StartDotnet(RepoPaths.HostDll, _agentArgs[name]));

    private TestProcess Track(TestProcess process)
    {
        _processes.Add(process);
        return process;
    }

    public ApiClient Api() => new(Url, AdminToken);

    /// <summary>The machine token an agent saved in its agent.json.</summary>
    public string MachineToken(string node)
    {
        using var identity = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, node, "agent.json")));
        foreach (var property in identity.RootElement.EnumerateObject())
            if (property.Name.Equals("token", StringComparison.OrdinalIgnoreCase)) return property.Value.GetString()!;
        throw new InvalidOperationException($"{node}'s agent.json has no token");
    }

    /// <summary>A node's certificate with its key, as its agent saved them (node.crt, node.key).</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2 NodeCertificate(string node)
    {
        using var pem = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(
            Path.Combine(Directory, node, "node.crt"), Path.Combine(Directory, node, "node.key"));
        // Through PKCS#12, so that SslStream on Linux can use the key.
        return System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(
            pem.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12), null);
    }

    /// <summary>Deploys the sample HelloService as <paramref name="name"/> with <paramref name="replicas"/> replicas and waits until all run.</summary>
    public async Task<ServiceView> DeployHelloAsync(string name, int replicas)
    {
        var spec = $$"""
            { "name": "{{name}}", "command": "dotnet", "args": ["{{RepoPaths.HelloDll}}"], "replicas": {{replicas}},
              "resources": { "cpu": "100m", "memory": "64Mi" }, "ports": [{ "name": "http" }], "env": { "GREETING": "hello" },
              "healthCheck": { "type": "http", "port": "http", "path": "/health", "interval": "1s" } }
            """;
        using var api = Api();
        using var response = await api.Http.PostAsync("/v1/services", new StringContent(spec, System.Text.Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return await api.WaitRunningAsync(name, TimeSpan.FromSeconds(90));
    }

    /// <summary>Events matching the query parameters, e.g. "service=web".</summary>
    public async Task<List<ClusterEvent>> EventsAsync(string query = "")
    {
        using var api = Api();
        var all = new List<ClusterEvent>();
        long after = 0;
        while (true)
        {
            var page = await api.Http.GetFromJsonAsync<List<ClusterEvent>>($"/v1/events?after={after}&limit=1000{(query.Length > 0 ? "&" + query : "")}",
                VirtualClusterJson.Options) ?? [];
            all.AddRange(page);
            if (page.Count < 1000) return all;
            after = page[^1].Sequence;
        }
    }

    /// <summary>Runs a test body and, when it fails, writes <see cref="DiagnosticsAsync"/> to the test output.</summary>
    public async Task WithDiagnosticsAsync(Xunit.Abstractions.ITestOutputHelper output, Func<Task> body)
    {
        try
        {
            await body();
        }
        catch
        {
            output.WriteLine(await DiagnosticsAsync());
            throw;
        }
    }

    /// <summary>Every process's output and the event log, for the test output when something went wrong.</summary>
    public async Task<string> DiagnosticsAsync()
    {
        var text = new System.Text.StringBuilder();
        try
        {
            foreach (var e in await EventsAsync()) text.AppendLine($"{e.Timestamp:HH:mm:ss.fff} {e.Kind} {e.Subject} {e.Incident} {e.Message}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { text.AppendLine("events unavailable: " + e.Message); }
        text.AppendLine("--- control plane").AppendLine(Tail(ControlPlane.Output));
        foreach (var (name, agent) in Agents) text.AppendLine($"--- {name}").AppendLine(Tail(agent.Output));
        return text.ToString();
    }

    private static string Tail(string output, int lines = 150) => string.Join('\n', output.Split('\n').TakeLast(lines));

    public async ValueTask DisposeAsync()
    {
        foreach (var process in Enumerable.Reverse(_processes))
        {
            try { Native.Kill(process.Pid, ProcessTree.SigCont); } catch (Exception) { }
            process.Dispose();
        }
        // Workloads of agents that were killed alone would be orphans: find them by the node id in their environment.
        foreach (var nodeId in _nodeIds)
            foreach (var pid in ProcessTree.WithEnvironment("VC_NODE_ID", nodeId))
                Native.Kill(pid, ProcessTree.SigKill);
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
