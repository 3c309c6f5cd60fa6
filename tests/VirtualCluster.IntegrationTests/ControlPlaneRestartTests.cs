using VirtualCluster.IntegrationTests.Infrastructure;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// Desired state lives in SQLite: a control plane that is killed and started again keeps every service,
/// and the reconciler converges without restarting healthy instances.
/// </summary>
public sealed class ControlPlaneRestartTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vc-restart-").FullName;
    private readonly List<TestProcess> _processes = [];

    [Fact]
    public async Task Killed_control_plane_restarts_with_every_service_and_leaves_instances_running()
    {
        try
        {
            await RestartAsync();
        }
        catch
        {
            // What the agents and control planes said is the only way to tell why an instance was restarted.
            foreach (var process in _processes) output.WriteLine($"--- pid {process.Pid}\n{process.Output}");
            throw;
        }
    }

    private async Task RestartAsync()
    {
        var url = $"http://127.0.0.1:{Wait.FreePort()}";
        var cpDir = Path.Combine(_dir, "cp");
        var controlPlane = StartControlPlane(cpDir, url);
        var adminToken = await ReadTokenAsync(Path.Combine(cpDir, "admin.token"));
        using var api = new ApiClient(url, adminToken);
        await Wait.UntilAsync(api.HealthyAsync, TimeSpan.FromSeconds(60), "control plane health");
        for (var i = 1; i <= 3; i++)
        {
            var first = 50000 + i * 1000; // clear of the local clusters (20000-39999) and the Docker tests' blocks (23000-31999)
            _processes.Add(TestProcess.StartDotnet(RepoPaths.HostDll,
            [
                "agent", "--server", url, "--join-token-file", Path.Combine(cpDir, "join.token"), "--name", $"node-{i}",
                "--data-dir", Path.Combine(_dir, $"node-{i}"), "--ports", $"{first}-{first + 999}",
            ]));
        }
        await Wait.UntilAsync(async () => (await api.StatusAsync()).Nodes.Count(n => n.Node.State == NodeState.Alive) == 3,
            TimeSpan.FromSeconds(60), "three agents to join");

        var env = new Dictionary<string, string> { ["VCLUSTER_SERVER"] = url, ["VCLUSTER_TOKEN"] = adminToken, ["VCLUSTER_CONFIG"] = Path.Combine(_dir, "none.json") };
        var (code, output) = await CliRunner.RunAsync(env, "deploy", RepoPaths.HelloSpec);
        Assert.True(code == 0, output);
        var before = await api.WaitRunningAsync("hello", TimeSpan.FromSeconds(60));
        // Restart counts are compared, not required to be 0: a workload that crashed while starting (e.g. its port was
        // briefly held by another process's outgoing connection) was restarted before the control plane went away.
        var instancesBefore = before.Instances.Select(i => (i.Instance.Id, i.Instance.Pid, i.Instance.Epoch, i.Instance.RestartCount)).OrderBy(i => i.Id).ToList();

        controlPlane.Signal(9);
        await controlPlane.WaitForExitAsync(TimeSpan.FromSeconds(30));
        // While the control plane is away the workloads keep serving.
        using var curl = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        foreach (var instance in before.Instances) Assert.Contains("hello from", await curl.GetStringAsync(instance.Urls[0]));

        StartControlPlane(cpDir, url);
        await Wait.UntilAsync(api.HealthyAsync, TimeSpan.FromSeconds(60), "restarted control plane health");
        // Wait until agents have reported for 3 s after the restart, so the reconciler has had several passes to (wrongly) act.
        var restartedAt = DateTimeOffset.UtcNow;
        await Wait.UntilAsync(async () => (await api.StatusAsync()).Nodes.All(n => n.Node.State == NodeState.Alive && n.Node.LastHeartbeat > restartedAt.AddSeconds(3)),
            TimeSpan.FromSeconds(30), "agents reporting to the restarted control plane for 3 s");
        var after = await api.WaitRunningAsync("hello", TimeSpan.FromSeconds(30));
        var instancesAfter = after.Instances.Select(i => (i.Instance.Id, i.Instance.Pid, i.Instance.Epoch, i.Instance.RestartCount)).OrderBy(i => i.Id).ToList();
        Assert.Equal(instancesBefore, instancesAfter);
        foreach (var instance in after.Instances) Assert.Contains("hello from", await curl.GetStringAsync(instance.Urls[0]));
    }

    private TestProcess StartControlPlane(string dir, string url)
    {
        var process = TestProcess.StartDotnet(RepoPaths.HostDll, ["control-plane", "--data-dir", dir, "--listen", url]);
        _processes.Add(process);
        return process;
    }

    private static async Task<string> ReadTokenAsync(string path)
    {
        await Wait.UntilAsync(() => Task.FromResult(File.Exists(path)), TimeSpan.FromSeconds(60), path);
        return (await File.ReadAllTextAsync(path)).Trim();
    }

    public void Dispose()
    {
        // Agents first (their workloads die with their process tree), then the control plane.
        foreach (var p in Enumerable.Reverse(_processes)) p.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
