using Docker.DotNet;
using Docker.DotNet.Models;
using VirtualCluster.Testing;

namespace VirtualCluster.IntegrationTests.Infrastructure;

/// <summary>
/// A control plane and agents as separate real processes (so one agent can be killed and started again), agents
/// with Docker on. Every container labelled with this cluster (its control-plane URL) is removed at the end, pass or
/// fail, through the real daemon.
/// </summary>
internal sealed class DockerStack : IAsyncDisposable
{
    private readonly List<TestProcess> _processes = [];
    private readonly Dictionary<string, string[]> _agentArgs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TestProcess> _agents = new(StringComparer.Ordinal);

    private DockerStack(string url) => Url = url;

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("vc-docker-stack-").FullName;
    public string Url { get; }
    public string AdminToken { get; private set; } = "";
    public Dictionary<string, string> CliEnv { get; } = new();
    public DockerClient Docker { get; } = new DockerClientConfiguration(new Uri(DockerTestEnvironment.Endpoint)).CreateClient();

    public static async Task<DockerStack> StartAsync(IEnumerable<string>? controlPlaneArgs = null)
    {
        var stack = new DockerStack($"http://127.0.0.1:{Wait.FreePort()}");
        var cpDir = Path.Combine(stack.Directory, "cp");
        stack._processes.Add(TestProcess.StartDotnet(RepoPaths.HostDll, ["control-plane", "--data-dir", cpDir, "--listen", stack.Url, .. controlPlaneArgs ?? []]));
        var tokenFile = Path.Combine(cpDir, "admin.token");
        await Wait.UntilAsync(() => Task.FromResult(File.Exists(tokenFile)), TimeSpan.FromSeconds(60), "the admin token");
        stack.AdminToken = (await File.ReadAllTextAsync(tokenFile)).Trim();
        using var api = stack.Api();
        await Wait.UntilAsync(api.HealthyAsync, TimeSpan.FromSeconds(60), "control plane health");
        stack.CliEnv["VCLUSTER_SERVER"] = stack.Url;
        stack.CliEnv["VCLUSTER_TOKEN"] = stack.AdminToken;
        stack.CliEnv["VCLUSTER_CONFIG"] = Path.Combine(stack.Directory, "none.json");
        stack.CliEnv["NO_COLOR"] = "1";
        return stack;
    }

    public ApiClient Api() => new(Url, AdminToken);

    /// <summary>Starts an agent (again, with the same arguments, when it ran before) and waits until the node is alive.</summary>
    public async Task StartAgentAsync(string name, int firstPort, string dockerEndpoint = "", int ports = 100)
    {
        if (!_agentArgs.ContainsKey(name))
        {
            _agentArgs[name] =
            [
                "agent", "--server", Url, "--join-token-file", Path.Combine(Directory, "cp", "join.token"), "--name", name,
                "--data-dir", Path.Combine(Directory, name), "--ports", $"{firstPort}-{firstPort + ports - 1}",
                "--docker", "on", "--docker-publish-address", "127.0.0.1",
                "--docker-endpoint", dockerEndpoint.Length > 0 ? dockerEndpoint : DockerTestEnvironment.Endpoint,
            ];
        }
        var started = DateTimeOffset.UtcNow;
        var agent = TestProcess.StartDotnet(RepoPaths.HostDll, _agentArgs[name]);
        _processes.Add(agent);
        _agents[name] = agent;
        using var api = Api();
        await Wait.UntilAsync(async () => (await api.StatusAsync()).Nodes.Any(n =>
            n.Node.Name == name && n.Node.State == NodeState.Alive && n.Node.LastHeartbeat > started && n.Node.Drivers.Contains("docker")),
            TimeSpan.FromSeconds(60), $"agent {name} to report with the docker driver");
    }

    /// <summary>kill -9: the agent gets no chance to stop its containers.</summary>
    public async Task KillAgentAsync(string name)
    {
        var agent = _agents[name];
        agent.Signal(9);
        await agent.WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    public string AgentOutput(string name) => _agents[name].Output;

    /// <summary>This cluster's containers, running or not; of one instance when given.</summary>
    public async Task<IList<ContainerListResponse>> ContainersAsync(string? instanceId = null)
    {
        var labels = new Dictionary<string, bool> { [$"io.virtualcluster.cluster={Url}"] = true };
        if (instanceId is not null) labels[$"io.virtualcluster.instance={instanceId}"] = true;
        return await Docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = labels },
        });
    }

    public async ValueTask DisposeAsync()
    {
        // Agents first, then the control plane; containers last, whatever the agents managed to do.
        foreach (var p in Enumerable.Reverse(_processes)) p.Dispose();
        try
        {
            foreach (var container in await ContainersAsync())
                await Docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true });
        }
        finally
        {
            Docker.Dispose();
            try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
