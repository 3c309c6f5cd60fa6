using System.Net.Sockets;
using VirtualCluster.Runtime.Docker.Tests.Infrastructure;
using VirtualCluster.Testing;

namespace VirtualCluster.Runtime.Docker.Tests;

/// <summary>The driver against the real daemon: what it creates, how it reports, how it stops.</summary>
public sealed class DockerDriverTests : DockerFixture
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    [DockerFact]
    public async Task Httpd_is_published_on_the_host_port_with_limits_labels_and_env_then_stop_removes_it()
    {
        var driver = NewDriver();
        var port = Poll.FreePort();
        var spec = Httpd() with { Env = new Dictionary<string, string> { ["GREETING"] = "hi", ["PORT"] = "1" } };
        var status = await driver.StartAsync(Request("web-1", spec, new Dictionary<string, int> { ["http"] = port }, epoch: 7));
        Assert.True(status.State == WorkloadState.Running, status.Message);
        Assert.NotNull(status.Pid);

        string body = "";
        await Poll.UntilAsync(async () =>
        {
            try { body = await Http.GetStringAsync($"http://127.0.0.1:{port}/"); return true; }
            catch (HttpRequestException) { return false; }
        }, "httpd to answer on the host port");
        Assert.Contains("hello from busybox httpd", body);

        Assert.True(driver.TryGetContainerId("web-1", out var id));
        var details = await Docker.Containers.InspectContainerAsync(id);
        Assert.Equal(250_000_000, details.HostConfig.NanoCPUs);
        Assert.Equal(32L * 1024 * 1024, details.HostConfig.Memory);
        Assert.Equal(details.HostConfig.Memory, details.HostConfig.MemorySwap);
        Assert.True(details.HostConfig.Init);
        Assert.Equal("no", details.HostConfig.RestartPolicy.Name.ToString().ToLowerInvariant());
        var binding = Assert.Single(details.HostConfig.PortBindings["8080/tcp"]);
        Assert.Equal(("127.0.0.1", port.ToString()), (binding.HostIP, binding.HostPort));
        Assert.Equal(Cluster, details.Config.Labels[ContainerLabels.Cluster]);
        Assert.Equal("node-1", details.Config.Labels[ContainerLabels.Node]);
        Assert.Equal("bb", details.Config.Labels[ContainerLabels.Service]);
        Assert.Equal("web-1", details.Config.Labels[ContainerLabels.Instance]);
        Assert.Equal("7", details.Config.Labels[ContainerLabels.Epoch]);
        // The driver's PORT wins over the spec's: it is where the container must listen.
        Assert.Contains("PORT=8080", details.Config.Env);
        Assert.Contains("VC_PORT_HTTP=8080", details.Config.Env);
        Assert.Contains($"VC_HOST_PORT_HTTP={port}", details.Config.Env);
        Assert.Contains("GREETING=hi", details.Config.Env);
        Assert.Contains("VC_INSTANCE_ID=web-1", details.Config.Env);

        // httpd sets no SIGTERM handler; with the init process it still stops at once, well within the grace period.
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await driver.StopAsync("web-1", TimeSpan.FromSeconds(20));
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"stop took {stopping.Elapsed}");
        var stopped = await driver.GetStatusAsync("web-1");
        Assert.Equal(WorkloadState.Exited, stopped.State);
        Assert.StartsWith("stopped", stopped.Message);
        Assert.Empty(await ContainersAsync("web-1"));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => Http.GetStringAsync($"http://127.0.0.1:{port}/"));
        driver.Remove("web-1");
        Assert.Equal(WorkloadState.NotFound, (await driver.GetStatusAsync("web-1")).State);
    }

    [DockerFact]
    public async Task Output_is_captured_with_sequences_and_the_exit_code_is_reported_and_volumes_are_bind_mounts()
    {
        var driver = NewDriver();
        var spec = Busybox("/bin/sh", "-c", "echo one; echo two >&2; echo \"port=$PORT vol=$VC_VOLUME_DATA\"; echo saved > /data/file.txt; exit 3") with
        {
            Ports = [new PortSpec("http", 9000)],
            Volumes = [new VolumeSpec("data", "/data")],
        };
        var status = await driver.StartAsync(Request("job-1", spec, new Dictionary<string, int> { ["http"] = Poll.FreePort() }));
        Assert.NotEqual(WorkloadState.Failed, status.State);

        await Poll.UntilAsync(async () => (await driver.GetStatusAsync("job-1")).State == WorkloadState.Exited, "the container to exit");
        var exited = await driver.GetStatusAsync("job-1");
        Assert.Equal(3, exited.ExitCode);
        Assert.Equal("exited with code 3", exited.Message);

        var lines = await driver.ReadLogsAsync("job-1", 0, 100);
        Assert.Equal(Enumerable.Range(1, lines.Count).Select(i => (long)i), lines.Select(l => l.Sequence));
        Assert.Contains(lines, l => l is { Stream: "stdout", Text: "one" });
        Assert.Contains(lines, l => l is { Stream: "stderr", Text: "two" });
        Assert.Contains(lines, l => l.Text == "port=9000 vol=/data");
        Assert.Equal("saved\n", await File.ReadAllTextAsync(Path.Combine(Root, "job-1", "volumes", "data", "file.txt")));
        Assert.Equal(lines.Skip(1).ToList(), await driver.ReadLogsAsync("job-1", 1, 100));

        // A new run of the same instance replaces the old container and continues the sequence.
        Assert.True(driver.TryGetContainerId("job-1", out var first));
        await driver.StartAsync(Request("job-1", spec with { Args = ["-c", "echo again"] }, new Dictionary<string, int> { ["http"] = Poll.FreePort() }));
        await Poll.UntilAsync(async () => (await driver.GetStatusAsync("job-1")).State == WorkloadState.Exited, "the second run to exit");
        var again = Assert.Single(await driver.ReadLogsAsync("job-1", lines[^1].Sequence, 100));
        Assert.Equal(("again", lines[^1].Sequence + 1), (again.Text, again.Sequence));
        var containers = await ContainersAsync("job-1");
        Assert.DoesNotContain(containers, c => c.ID == first);
        Assert.Single(containers);
    }

    [DockerFact]
    public async Task Waits_and_output_outlive_the_request_timeout()
    {
        // Waiting on the container and following its output are long calls: the per-request timeout must not cut them.
        // 2 s leaves room for create/start on a loaded machine; the container outlives it by far.
        var driver = NewDriver(configure: o => o.RequestTimeout = TimeSpan.FromSeconds(2));
        await driver.StartAsync(Request("slow-1", Busybox("/bin/sh", "-c", "sleep 6; echo late; exit 4")));
        await Poll.UntilAsync(async () => (await driver.GetStatusAsync("slow-1")).State != WorkloadState.Running, "the container to exit");
        var status = await driver.GetStatusAsync("slow-1");
        Assert.Equal((WorkloadState.Exited, 4), (status.State, status.ExitCode));
        // The output follower and the exit wait are separate streams: the last line may land just after the exit.
        await Poll.UntilAsync(async () => (await driver.ReadLogsAsync("slow-1", 0, 10)).Any(l => l.Text == "late"), "the last output line");
    }

    [DockerFact]
    public async Task Unknown_image_fails_with_a_reason_that_names_it()
    {
        var driver = NewDriver();
        // A registry on a closed loopback port: the pull fails at once and no traffic leaves the machine.
        var image = $"127.0.0.1:{Poll.FreePort()}/vc/missing:1";
        var status = await driver.StartAsync(Request("nope-1", Busybox("/bin/true") with { Image = image }));
        await Poll.UntilAsync(async () => (status = await driver.GetStatusAsync("nope-1")).State == WorkloadState.Failed, "the pull to fail");
        Assert.StartsWith($"image {image} not found locally and could not be pulled: ", status.Message);
        Assert.Empty(await ContainersAsync());
        Assert.Contains(await driver.ReadLogsAsync("nope-1", 0, 10), l => l.Text.StartsWith(DockerDriver.NoticePrefix, StringComparison.Ordinal));
    }

    [DockerFact]
    public async Task A_host_port_in_use_fails_with_a_reason_that_names_the_port_and_leaves_no_container()
    {
        using var holder = new TcpListener(System.Net.IPAddress.Loopback, 0);
        holder.Start();
        var port = ((System.Net.IPEndPoint)holder.LocalEndpoint).Port;
        var driver = NewDriver();
        var status = await driver.StartAsync(Request("busy-1", Httpd(), new Dictionary<string, int> { ["http"] = port }));
        Assert.Equal(WorkloadState.Failed, status.State);
        Assert.Contains($"host port {port} (http) is already in use on this node", status.Message);
        Assert.Empty(await ContainersAsync("busy-1"));
    }

    [DockerFact]
    public async Task A_spec_the_daemon_refuses_fails_with_the_daemons_words()
    {
        var driver = NewDriver();
        var status = await driver.StartAsync(Request("tiny-1", Busybox("/bin/true") with { Resources = new Resources(100, 1024, 0) }));
        Assert.Equal(WorkloadState.Failed, status.State);
        Assert.Contains("memory", status.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(await ContainersAsync("tiny-1"));
    }

    [DockerFact]
    public async Task Starting_a_running_instance_again_throws_and_stopping_an_unknown_one_is_a_no_op()
    {
        var driver = NewDriver();
        var request = Request("twice-1", Busybox("/bin/sleep", "300"));
        Assert.Equal(WorkloadState.Running, (await driver.StartAsync(request)).State);
        await Assert.ThrowsAsync<InvalidOperationException>(() => driver.StartAsync(request));
        Assert.Throws<InvalidOperationException>(() => driver.Remove("twice-1"));
        await driver.StopAsync("never-started", TimeSpan.Zero);
        Assert.Single(await ContainersAsync("twice-1"));
        await driver.StopAsync("twice-1", TimeSpan.FromSeconds(1));
        Assert.Empty(await ContainersAsync("twice-1"));
    }
}
