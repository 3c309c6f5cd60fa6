using System.Net.Sockets;
using VirtualCluster.IntegrationTests.Infrastructure;
using VirtualCluster.Testing;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// The Docker driver through the whole stack: the real CLI, control plane and agents as processes, and the real
/// daemon with the local busybox image.
/// </summary>
public sealed class DockerTests
{
    private static readonly HttpClient Curl = new() { Timeout = TimeSpan.FromSeconds(5) };
    private static string BusyboxSpec => Path.Combine(RepoPaths.Root, "samples", "specs", "busybox.json");

    [DockerFact]
    public async Task Busybox_runs_in_a_container_with_its_limits_is_adopted_after_an_agent_restart_and_removed_with_its_service()
    {
        // The killed agent's fence watchdog stops the singleton once its lease (3 s by default) runs out without a
        // renewal; a restart slower than that on a loaded machine gets the container fenced before it can be adopted
        // (seen in CI). The longest lease takes that race out of a test about adoption (fencing has its own tests).
        await using var stack = await DockerStack.StartAsync(controlPlaneArgs: ["--fencing-lease", "600"]);
        await stack.StartAgentAsync("node-1", Wait.FreePortBlock(100));
        // The sample spec with a failover delay far longer than the test: on a loaded machine the agent's restart
        // below may outlast the failure detector, and the node is then declared down; the delay makes sure the
        // instance is never replaced meanwhile, so the restarted agent always has it to adopt.
        var spec = Path.Combine(stack.Directory, "busybox-adopt.json");
        var sample = string.Join('\n', (await File.ReadAllLinesAsync(BusyboxSpec)).Where(l => !l.TrimStart().StartsWith("//", StringComparison.Ordinal)));
        await File.WriteAllTextAsync(spec, sample.Replace("\"driver\": \"docker\",", "\"driver\": \"docker\", \"failover\": { \"delay\": \"10m\" },", StringComparison.Ordinal));
        Assert.Contains("\"delay\": \"10m\"", await File.ReadAllTextAsync(spec));

        var (code, output) = await CliRunner.RunAsync(stack.CliEnv, "deploy", spec);
        Assert.True(code == 0, output);
        using var api = stack.Api();
        var view = await api.WaitRunningAsync("busybox", TimeSpan.FromSeconds(30));
        var instance = Assert.Single(view.Instances);
        var url = Assert.Single(instance.Urls);
        Assert.Contains(url, output);
        Assert.Contains("hello from busybox httpd", await Curl.GetStringAsync(url));

        var container = Assert.Single(await stack.ContainersAsync(instance.Instance.Id));
        var details = await stack.Docker.Containers.InspectContainerAsync(container.ID);
        Assert.Equal(250_000_000, details.HostConfig.NanoCPUs);
        Assert.Equal(32L << 20, details.HostConfig.Memory);
        Assert.Equal("node-1", details.Config.Labels["io.virtualcluster.node"]);
        Assert.Equal(instance.Instance.Epoch.ToString(), details.Config.Labels["io.virtualcluster.epoch"]);

        // kill -9 the agent: the container keeps serving, and the new agent process adopts it instead of starting another.
        await stack.KillAgentAsync("node-1");
        Assert.Contains("hello from busybox httpd", await Curl.GetStringAsync(url));
        await stack.StartAgentAsync("node-1", Wait.FreePortBlock(100));
        var restartedAt = DateTimeOffset.UtcNow;
        await Wait.UntilAsync(async () => (await api.StatusAsync()).Nodes.Single().Node.LastHeartbeat > restartedAt.AddSeconds(2),
            TimeSpan.FromSeconds(30), "the restarted agent to report for 2 s");
        var after = Assert.Single((await api.WaitRunningAsync("busybox", TimeSpan.FromSeconds(30))).Instances);
        Assert.Equal(instance.Instance.Id, after.Instance.Id);
        Assert.Equal(0, after.Instance.RestartCount);
        Assert.Equal(container.ID, Assert.Single(await stack.ContainersAsync()).ID);
        Assert.Contains("Adopted instance " + instance.Instance.Id, stack.AgentOutput("node-1"));
        Assert.Contains("hello from busybox httpd", await Curl.GetStringAsync(url));

        (code, output) = await CliRunner.RunAsync(stack.CliEnv, "rm", "busybox");
        Assert.True(code == 0, output);
        await Wait.UntilAsync(async () => (await stack.ContainersAsync()).Count == 0, TimeSpan.FromSeconds(30), "the container to be removed");
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => Curl.GetStringAsync(url));
    }

    [DockerFact]
    public async Task Deploy_of_an_image_that_is_not_here_shows_the_pull_progress_and_then_runs()
    {
        await using var stack = await DockerStack.StartAsync();
        await stack.StartAgentAsync("node-1", Wait.FreePortBlock(100));
        // A registry on loopback, slow enough that the CLI's polls see the pull under way.
        using var registry = LoopbackRegistry.Start(chunkDelay: TimeSpan.FromMilliseconds(60));
        try
        {
            var path = Path.Combine(stack.Directory, "pulled.json");
            await File.WriteAllTextAsync(path, $$"""
                { "name": "pulled", "driver": "docker", "image": "{{registry.Image}}", "command": "/bin/httpd",
                  "args": ["-f", "-p", "8080", "-h", "/www"], "ports": [{ "name": "http", "containerPort": 8080 }] }
                """);
            var (code, output) = await CliRunner.RunAsync(stack.CliEnv, "deploy", path);
            Assert.True(code == 0, output);
            Assert.Matches($@"0/1 running \(1 starting\): pulling image {System.Text.RegularExpressions.Regex.Escape(registry.Image)}: \d+%", output);
            using var api = stack.Api();
            var url = Assert.Single((await api.ServiceAsync("pulled"))!.Instances).Urls[0];
            Assert.Contains("hello from a pulled image", await Curl.GetStringAsync(url));
        }
        finally
        {
            foreach (var container in await stack.ContainersAsync())
                await stack.Docker.Containers.RemoveContainerAsync(container.ID, new Docker.DotNet.Models.ContainerRemoveParameters { Force = true });
            try { await stack.Docker.Images.DeleteImageAsync(registry.Image, new Docker.DotNet.Models.ImageDeleteParameters { Force = true }); }
            catch (global::Docker.DotNet.DockerImageNotFoundException) { }
        }
    }

    [DockerFact]
    public async Task Bad_docker_input_ends_in_readable_states_and_the_agent_keeps_serving_when_the_daemon_goes_away()
    {
        await using var stack = await DockerStack.StartAsync();
        // The agent reaches the daemon through a proxy the test can cut, as if dockerd went away.
        using var proxy = new SocketProxy(DockerTestEnvironment.SocketPath);
        // A free block below the ephemeral range (a fixed 43000, and later a block starting at a free ephemeral port,
        // could be an outgoing connection's local port on a busy machine: Docker then cannot publish it).
        var firstPort = Wait.FreePortBlock(100);
        await stack.StartAgentAsync("node-1", firstPort, proxy.Endpoint);
        using var api = stack.Api();

        // 1. The lowest free port goes to the first instance: hold it, and the container cannot publish it.
        using (var holder = new TcpListener(System.Net.IPAddress.Loopback, firstPort))
        {
            holder.Start();
            var (code, output) = await DeployAsync(stack, "taken", """
                "image": "vc/busybox:test", "command": "/bin/httpd", "args": ["-f", "-p", "8080", "-h", "/www"],
                "ports": [{ "name": "http", "containerPort": 8080 }]
                """);
            Assert.True(code == 1, output);
            Assert.Contains($"host port {firstPort} (http) is already in use on this node", output);
        }

        // 2. An image that is not here and cannot be pulled (a registry on a closed loopback port).
        var image = $"127.0.0.1:{Wait.FreePort()}/vc/missing:1";
        var (c2, o2) = await DeployAsync(stack, "ghost", $"\"image\": \"{image}\"");
        Assert.True(c2 == 1, o2);
        Assert.True(o2.Contains($"image {image} not found locally and could not be pulled", StringComparison.Ordinal), o2);

        // 3. A server that exits at once (before its port ever answers).
        var (c3, o3) = await DeployAsync(stack, "quick", """
            "image": "vc/busybox:test", "command": "/bin/sh", "args": ["-c", "echo bye; exit 3"], "restartPolicy": "never",
            "ports": [{ "name": "http", "containerPort": 8080 }]
            """);
        Assert.True(c3 == 1, o3);
        Assert.True(o3.Contains("exited with code 3", StringComparison.Ordinal), o3);

        // Meanwhile a container and a process serve.
        var (c4, o4) = await DeployAsync(stack, "steady", """
            "image": "vc/busybox:test", "command": "/bin/httpd", "args": ["-f", "-p", "8080", "-h", "/www"],
            "ports": [{ "name": "http", "containerPort": 8080 }]
            """);
        Assert.True(c4 == 0, o4);
        var (c5, o5) = await CliRunner.RunAsync(stack.CliEnv, "deploy", RepoPaths.HelloSpec);
        Assert.True(c5 == 0, o5);
        var steadyUrl = Assert.Single((await api.ServiceAsync("steady"))!.Instances).Urls[0];
        Assert.Contains("hello from busybox httpd", await Curl.GetStringAsync(steadyUrl));

        // 4. The daemon goes away: the container instance fails with the reason, the process instances go on,
        //    and the node stops offering docker.
        proxy.Cut();
        await Wait.UntilAsync(async () => (await api.ServiceAsync("steady"))!.Instances.Any(i => i.Instance.State == InstanceState.Failed),
            TimeSpan.FromSeconds(60), "the steady instance to fail after the daemon went away");
        var (c6, status) = await CliRunner.RunAsync(stack.CliEnv, "status");
        Assert.True(c6 == 0, status);
        Assert.Contains("Docker daemon at " + proxy.Endpoint, status.ReplaceLineEndings(" "));
        Assert.Contains("exited with code 3", status);
        await Wait.UntilAsync(async () => !(await api.StatusAsync()).Nodes.Single().Node.Drivers.Contains("docker"),
            TimeSpan.FromSeconds(30), "the node to stop offering docker");
        var hello = (await api.WaitRunningAsync("hello", TimeSpan.FromSeconds(30))).Instances;
        foreach (var i in hello) Assert.Contains("hello from", await Curl.GetStringAsync(i.Urls[0]));
        Assert.Equal(NodeState.Alive, (await api.StatusAsync()).Nodes.Single().Node.State);
    }

    [Fact]
    public async Task Agent_with_docker_on_refuses_to_start_when_the_daemon_does_not_answer()
    {
        var dir = Directory.CreateTempSubdirectory("vc-docker-on-").FullName;
        try
        {
            var endpoint = $"unix://{dir}/no-daemon.sock";
            using var agent = TestProcess.StartDotnet(RepoPaths.HostDll,
                ["agent", "--server", "http://127.0.0.1:9", "--join-token", "x", "--name", "n1", "--data-dir", dir, "--docker", "on", "--docker-endpoint", endpoint]);
            Assert.Equal(2, await agent.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains($"--docker on: the Docker daemon at {endpoint} does not answer", agent.Output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<(int Code, string Output)> DeployAsync(DockerStack stack, string name, string fields)
    {
        var path = Path.Combine(stack.Directory, name + ".json");
        await File.WriteAllTextAsync(path, $$"""{ "name": "{{name}}", "driver": "docker", "resources": { "cpu": "100m", "memory": "16Mi" }, {{fields}} }""");
        return await CliRunner.RunAsync(stack.CliEnv, "deploy", path, "--timeout", "60s");
    }
}
