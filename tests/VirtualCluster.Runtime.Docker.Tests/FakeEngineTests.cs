using Docker.DotNet.Models;
using VirtualCluster.Runtime.Docker.Tests.Infrastructure;

namespace VirtualCluster.Runtime.Docker.Tests;

/// <summary>The driver's state handling against an in-memory daemon: pulls, stops during a pull, a vanishing daemon.</summary>
public sealed class FakeEngineTests : IAsyncDisposable
{
    private readonly FakeEngine _engine = new();
    private readonly DockerDriver _driver;

    public FakeEngineTests()
    {
        _driver = new DockerDriver(new DockerDriverOptions { Cluster = "c", Node = "n", OutputDrainTimeout = TimeSpan.Zero }, _engine, logger: null, timeProvider: null);
    }

    private static WorkloadStartRequest Request(string id, string image = "app:1") => new(id, 1,
        new ServiceSpec { Name = "app", Driver = "docker", Image = image, Resources = new Resources(100, 64L << 20, 0) },
        new Dictionary<string, int>(), new Dictionary<string, string>(), Path.Combine(Path.GetTempPath(), "vc-fake-" + Guid.NewGuid().ToString("N")));

    [Fact]
    public async Task A_missing_image_is_pulled_in_the_background_with_progress_then_the_container_runs()
    {
        var status = await _driver.StartAsync(Request("p-1"));
        Assert.Equal((WorkloadState.Starting, "pulling image app:1"), (status.State, status.Message));

        await _engine.Pull.Writer.WriteAsync(new JSONMessage { ID = "l1", Status = "Downloading", Progress = new JSONProgress { Current = 45, Total = 100 } });
        await Poll.UntilAsync(async () => (await _driver.GetStatusAsync("p-1")).Message == "pulling image app:1: 45%", "progress");
        Assert.Equal(WorkloadState.Starting, (await _driver.GetStatusAsync("p-1")).State);

        await _engine.Pull.Writer.WriteAsync(null);
        await Poll.UntilAsync(async () => (await _driver.GetStatusAsync("p-1")).State == WorkloadState.Running, "the container to run");
        Assert.Single(_engine.Created);
        Assert.Contains(await _driver.ReadLogsAsync("p-1", 0, 10), l => l.Text == DockerDriver.NoticePrefix + "pulled image app:1");
    }

    [Fact]
    public async Task Stopping_during_a_pull_cancels_it_and_creates_nothing()
    {
        Assert.Equal(WorkloadState.Starting, (await _driver.StartAsync(Request("p-2"))).State);
        await _driver.StopAsync("p-2", TimeSpan.FromSeconds(1));
        var status = await _driver.GetStatusAsync("p-2");
        Assert.Equal((WorkloadState.Exited, "stopped while pulling image app:1"), (status.State, status.Message));
        Assert.Empty(_engine.Created);
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await _driver.StartAsync(Request("p-3"));
            await _driver.StartAsync(Request("p-3"));
        });
    }

    [Fact]
    public async Task A_daemon_that_vanishes_fails_the_running_instance_and_the_next_start()
    {
        _engine.Images.Add("app:1");
        Assert.Equal(WorkloadState.Running, (await _driver.StartAsync(Request("v-1"))).State);
        Assert.True(await _driver.IsAvailableAsync());
        _engine.GoAway();
        await Poll.UntilAsync(async () => (await _driver.GetStatusAsync("v-1")).State == WorkloadState.Failed, "the loss to be noticed");
        Assert.StartsWith("lost contact with the Docker daemon at unix:///fake.sock", (await _driver.GetStatusAsync("v-1")).Message);
        Assert.False(await _driver.IsAvailableAsync());
        var next = await _driver.StartAsync(Request("v-2"));
        Assert.Equal(WorkloadState.Failed, next.State);
        Assert.StartsWith("the Docker daemon at unix:///fake.sock is not reachable: Connection refused", next.Message);
    }

    [Fact]
    public async Task An_exit_is_reported_with_its_code_and_a_stop_afterwards_removes_the_container()
    {
        _engine.Images.Add("app:1");
        await _driver.StartAsync(Request("e-1"));
        Assert.True(_driver.TryGetContainerId("e-1", out var id));
        _engine.Exit(id, 2);
        await Poll.UntilAsync(async () => (await _driver.GetStatusAsync("e-1")).State == WorkloadState.Exited, "the exit");
        Assert.Equal((2, "exited with code 2"), ((await _driver.GetStatusAsync("e-1")).ExitCode, (await _driver.GetStatusAsync("e-1")).Message));
        await _driver.StopAsync("e-1", TimeSpan.Zero);
        Assert.Empty(_engine.Created);
    }

    public async ValueTask DisposeAsync() => await _driver.DisposeAsync();
}
