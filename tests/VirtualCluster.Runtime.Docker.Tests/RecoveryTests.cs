using VirtualCluster.Runtime.Docker.Tests.Infrastructure;
using VirtualCluster.Testing;

namespace VirtualCluster.Runtime.Docker.Tests;

/// <summary>Agent restarts (a new driver on the same labels) and a daemon that goes away.</summary>
public sealed class RecoveryTests : DockerFixture
{
    [DockerFact]
    public async Task A_new_driver_adopts_the_running_container_with_the_same_log_sequences_and_can_stop_it()
    {
        var first = NewDriver();
        var script = "echo ready; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done";
        Assert.Equal(WorkloadState.Running, (await first.StartAsync(Request("tick-1", Busybox("/bin/sh", "-c", script), epoch: 4))).State);
        await Poll.UntilAsync(async () => (await first.ReadLogsAsync("tick-1", 0, 100)).Count >= 3, "a few lines of output");
        Assert.True(first.TryGetContainerId("tick-1", out var id));
        var before = await first.ReadLogsAsync("tick-1", 0, 3);
        await first.DisposeAsync();

        // Another node's driver on the same daemon sees none of it.
        Assert.Empty(await NewDriver(node: "node-2").RecoverAsync());

        var second = NewDriver();
        var recovered = Assert.Single(await second.RecoverAsync());
        Assert.Equal(("tick-1", WorkloadState.Running), (recovered.InstanceId, recovered.State));
        Assert.True(second.TryGetContainerId("tick-1", out var adopted));
        Assert.Equal(id, adopted);
        Assert.True(second.TryGetEpoch("tick-1", out var epoch));
        Assert.Equal(4, epoch);
        await Poll.UntilAsync(async () => (await second.ReadLogsAsync("tick-1", 0, 100)).Count >= 3, "output re-read from Docker");
        Assert.Equal(before.Select(l => (l.Sequence, l.Text)), (await second.ReadLogsAsync("tick-1", 0, 3)).Select(l => (l.Sequence, l.Text)));
        Assert.Single(await ContainersAsync("tick-1"));

        await second.StopAsync("tick-1", TimeSpan.FromSeconds(1));
        Assert.Equal(WorkloadState.Exited, (await second.GetStatusAsync("tick-1")).State);
        Assert.Empty(await ContainersAsync("tick-1"));
    }

    [DockerFact]
    public async Task Start_adopts_a_leftover_of_the_same_epoch_and_replaces_one_of_an_older_epoch()
    {
        var first = NewDriver();
        Assert.Equal(WorkloadState.Running, (await first.StartAsync(Request("left-1", Busybox("/bin/sleep", "300"), epoch: 1))).State);
        Assert.True(first.TryGetContainerId("left-1", out var id));
        await first.DisposeAsync();

        // No RecoverAsync (say the daemon was down when the agent started): start must not make a duplicate.
        var second = NewDriver();
        var status = await second.StartAsync(Request("left-1", Busybox("/bin/sleep", "300"), epoch: 1));
        Assert.Equal(WorkloadState.Running, status.State);
        Assert.True(second.TryGetContainerId("left-1", out var adopted));
        Assert.Equal(id, adopted);
        await second.DisposeAsync();

        var third = NewDriver();
        Assert.Equal(WorkloadState.Running, (await third.StartAsync(Request("left-1", Busybox("/bin/sleep", "300"), epoch: 2))).State);
        Assert.True(third.TryGetContainerId("left-1", out var replaced));
        Assert.NotEqual(id, replaced);
        Assert.Equal(replaced, Assert.Single(await ContainersAsync("left-1")).ID);
    }

    [DockerFact]
    public async Task Recovery_tracks_an_exited_container_with_its_exit_code()
    {
        var first = NewDriver();
        await first.StartAsync(Request("done-1", Busybox("/bin/sh", "-c", "echo bye; exit 5")));
        await Poll.UntilAsync(async () => (await first.GetStatusAsync("done-1")).State == WorkloadState.Exited, "the container to exit");
        await first.DisposeAsync();

        var second = NewDriver();
        var recovered = Assert.Single(await second.RecoverAsync());
        Assert.Equal((WorkloadState.Exited, 5), (recovered.State, recovered.ExitCode));
        await Poll.UntilAsync(async () => (await second.ReadLogsAsync("done-1", 0, 10)).Any(l => l.Text == "bye"), "its output re-read");
    }

    [DockerFact]
    public async Task A_daemon_that_goes_away_fails_running_instances_and_new_starts_with_a_reason()
    {
        using var proxy = new SocketProxy(DockerTestEnvironment.SocketPath);
        var driver = NewDriver(configure: o => { o.Endpoint = proxy.Endpoint; o.PingTimeout = TimeSpan.FromSeconds(1); });
        Assert.True(await driver.IsAvailableAsync());
        Assert.Equal(WorkloadState.Running, (await driver.StartAsync(Request("gone-1", Busybox("/bin/sleep", "300")))).State);

        proxy.Cut();
        WorkloadStatus status = null!;
        await Poll.UntilAsync(async () => (status = await driver.GetStatusAsync("gone-1")).State == WorkloadState.Failed, "the loss to be noticed");
        Assert.Contains($"lost contact with the Docker daemon at {proxy.Endpoint}", status.Message);
        Assert.False(await driver.IsAvailableAsync());

        var next = await driver.StartAsync(Request("gone-2", Busybox("/bin/true")));
        Assert.Equal(WorkloadState.Failed, next.State);
        Assert.Contains($"the Docker daemon at {proxy.Endpoint} is not reachable", next.Message);
        Assert.Empty(await driver.RecoverAsync());
        // Stopping what it can no longer reach returns (and keeps the reason) instead of hanging.
        await driver.StopAsync("gone-1", TimeSpan.FromSeconds(1));
        Assert.Equal(WorkloadState.Failed, (await driver.GetStatusAsync("gone-1")).State);
    }

    [DockerFact]
    public async Task An_unreachable_endpoint_is_unavailable_and_fails_starts_quickly()
    {
        var driver = NewDriver(configure: o => o.Endpoint = $"unix:///tmp/vc-no-daemon-{Guid.NewGuid():N}.sock");
        Assert.False(await driver.IsAvailableAsync());
        var status = await driver.StartAsync(Request("none-1", Busybox("/bin/true")));
        Assert.Equal(WorkloadState.Failed, status.State);
        Assert.Contains("is not reachable", status.Message);
    }
}
