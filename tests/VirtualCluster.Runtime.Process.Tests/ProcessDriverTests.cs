using System.Diagnostics;
using VirtualCluster.Runtime;

namespace VirtualCluster.Runtime.Process.Tests;

public sealed class ProcessDriverTests : DriverFixture
{
    [Fact]
    public async Task Start_ReportsRunningWithPid()
    {
        var status = await StartAsync(Request("run-1", Shell("echo hello; echo err 1>&2; sleep 30")));

        Assert.Equal(WorkloadState.Running, status.State);
        Assert.NotNull(status.Pid);
        Assert.NotNull(status.StartedAt);
        Assert.True(Poll.PidExists(status.Pid.Value));
        Assert.Equal(WorkloadState.Running, (await Driver.GetStatusAsync("run-1")).State);
        Assert.Contains(await Driver.ListAsync(), s => s.InstanceId == "run-1" && s.State == WorkloadState.Running);
        Assert.True(File.Exists(Path.Combine(Root, "run-1", "pid")));
        Assert.Equal("process", Driver.Name);
        Assert.True(await Driver.IsAvailableAsync());
    }

    [Fact]
    public async Task Logs_FromBothStreams_WithSequencesFromOne()
    {
        await StartAsync(Request("logs-1", Shell("echo one; echo two; echo err 1>&2; echo three")));

        var lines = await WaitForLinesAsync("logs-1", 4);

        Assert.Equal([1L, 2, 3, 4], lines.Select(l => l.Sequence));
        // Order across the two pipes is not defined; order within each stream is.
        Assert.Equal(["one", "two", "three"], lines.Where(l => l.Stream == "stdout").Select(l => l.Text));
        Assert.Equal(["err"], lines.Where(l => l.Stream == "stderr").Select(l => l.Text));

        var page = await Driver.ReadLogsAsync("logs-1", afterSequence: 2, maxLines: 1);
        Assert.Equal(3, Assert.Single(page).Sequence);
        Assert.Empty(await Driver.ReadLogsAsync("logs-1", afterSequence: 4, maxLines: 10));

        await WaitForStateAsync("logs-1", WorkloadState.Exited);
        var file = await File.ReadAllLinesAsync(Path.Combine(Root, "logs-1", "output.log"));
        Assert.Equal(4, file.Length);
        Assert.Contains(file, l => l.StartsWith("1 ", StringComparison.Ordinal) && l.EndsWith(" one", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Environment_HasPortsVolumesAndSpecEnv()
    {
        var spec = Shell("""echo "PORT=$PORT"; echo "HTTP=$VC_PORT_HTTP"; echo "ADMIN=$VC_PORT_ADMIN_API"; echo "GREETING=$GREETING"; echo "ID=$VC_INSTANCE_ID"; echo "VOLUME=$VC_VOLUME_DATA"; echo "HOME_SET=${HOME:+yes}" """) with
        {
            Ports = [new PortSpec("http"), new PortSpec("admin-api")],
            Env = new Dictionary<string, string> { ["GREETING"] = "hi", ["VC_INSTANCE_ID"] = "from-spec" },
            Volumes = [new VolumeSpec("data", "/data")],
        };
        var ports = new Dictionary<string, int> { ["http"] = 20001, ["admin-api"] = 20002 };
        var env = new Dictionary<string, string> { ["VC_INSTANCE_ID"] = "env-1" };

        await StartAsync(Request("env-1", spec, ports, env));
        await WaitForStateAsync("env-1", WorkloadState.Exited);
        var text = (await Driver.ReadLogsAsync("env-1", 0, 100)).Select(l => l.Text).ToList();

        var volume = Path.Combine(Root, "env-1", "volumes", "data");
        Assert.Equal(
            ["PORT=20001", "HTTP=20001", "ADMIN=20002", "GREETING=hi", "ID=env-1", $"VOLUME={volume}", $"HOME_SET={(Environment.GetEnvironmentVariable("HOME") is null ? "" : "yes")}"],
            text);
        Assert.True(Directory.Exists(volume));
    }

    [Fact]
    public async Task Exit_ReportsExitCode()
    {
        await StartAsync(Request("exit-1", Shell("echo bye; exit 3")));

        var status = await WaitForStateAsync("exit-1", WorkloadState.Exited);

        Assert.Equal(3, status.ExitCode);
        Assert.Contains("code 3", status.Message, StringComparison.Ordinal);
        Assert.Equal("bye", Assert.Single(await Driver.ReadLogsAsync("exit-1", 0, 10)).Text);
    }

    [Fact]
    public async Task Stop_WhenTermIsHonored_EndsWithinGrace()
    {
        var status = await StartAsync(Request("stop-1", Shell("""trap 'echo got-term; exit 0' TERM; echo ready; while true; do sleep 0.1; done""")));
        await WaitForLinesAsync("stop-1", 1);

        var watch = Stopwatch.StartNew();
        await Driver.StopAsync("stop-1", TimeSpan.FromSeconds(20));
        watch.Stop();

        var stopped = await Driver.GetStatusAsync("stop-1");
        Assert.Equal(WorkloadState.Exited, stopped.State);
        Assert.Equal(0, stopped.ExitCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"stop took {watch.Elapsed}");
        Assert.False(Directory.Exists($"/proc/{status.Pid}"));
        Assert.Contains(await Driver.ReadLogsAsync("stop-1", 0, 10), l => l.Text == "got-term");
    }

    [Fact]
    public async Task Stop_WhenTermIsIgnored_KillsTreeAfterGrace()
    {
        // An ignored signal stays ignored across exec, so the sleep child ignores TERM too.
        var status = await StartAsync(Request("kill-1", Shell("trap '' TERM; echo ready; sleep 30; echo not-reached")));
        await WaitForLinesAsync("kill-1", 1);
        var pid = status.Pid!.Value;
        List<ProcStat> children = [];
        await Poll.UntilAsync(() => (children = ProcFs.Descendants(pid)).Count > 0, "the sleep child");
        children.ForEach(c => Track(c.Pid));

        var grace = TimeSpan.FromMilliseconds(500);
        var watch = Stopwatch.StartNew();
        await Driver.StopAsync("kill-1", grace);
        watch.Stop();

        var stopped = await Driver.GetStatusAsync("kill-1");
        Assert.Equal(WorkloadState.Exited, stopped.State);
        Assert.Equal(137, stopped.ExitCode);
        Assert.True(watch.Elapsed >= grace, $"stop took {watch.Elapsed}");
        Assert.False(Directory.Exists($"/proc/{pid}"));
        Assert.All(children, c => Assert.False(ProcFs.IsAlive(c.Pid, c.StartTime), $"child {c.Pid} still alive"));
    }

    [Fact]
    public async Task Start_UnknownCommand_Fails()
    {
        var spec = new ServiceSpec { Name = "test", Driver = "process", Command = "nosuch-command-vc" };

        var status = await Driver.StartAsync(Request("fail-1", spec));

        Assert.Equal(WorkloadState.Failed, status.State);
        Assert.Null(status.Pid);
        Assert.StartsWith("command \"nosuch-command-vc\" not found", status.Message, StringComparison.Ordinal);
        Assert.Equal(WorkloadState.Failed, (await Driver.GetStatusAsync("fail-1")).State);
        Assert.Contains("not found", Assert.Single(await Driver.ReadLogsAsync("fail-1", 0, 10)).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_MissingWorkingDirectory_Fails()
    {
        var spec = Shell("true") with { WorkingDirectory = "no/such/dir" };

        var status = await Driver.StartAsync(Request("wd-1", spec));

        Assert.Equal(WorkloadState.Failed, status.State);
        Assert.Contains("working directory", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_RelativeWorkingDirectory_ResolvesAgainstCurrentDirectory()
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, Root);
        await StartAsync(Request("wd-2", Shell("pwd") with { WorkingDirectory = relative }));

        var line = Assert.Single(await WaitForLinesAsync("wd-2", 1));

        Assert.Equal(Path.GetFullPath(Root), line.Text);
    }

    [Fact]
    public async Task Start_WhileRunning_Throws()
    {
        await StartAsync(Request("dup-1", Shell("sleep 30")));

        await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(Request("dup-1", Shell("sleep 30"))));
    }

    [Fact]
    public async Task Start_AgainAfterExit_ContinuesLogSequence()
    {
        await StartAsync(Request("again-1", Shell("echo first")));
        await WaitForStateAsync("again-1", WorkloadState.Exited);

        var status = await StartAsync(Request("again-1", Shell("echo second; sleep 30")));
        Assert.Equal(WorkloadState.Running, status.State);
        var lines = await WaitForLinesAsync("again-1", 2);

        Assert.Equal([(1L, "first"), (2L, "second")], lines.Select(l => (l.Sequence, l.Text)));
    }

    [Fact]
    public async Task UnknownInstance_IsNotFound_AndStopIsNoOp()
    {
        Assert.Equal(WorkloadState.NotFound, (await Driver.GetStatusAsync("nobody")).State);
        Assert.Empty(await Driver.ReadLogsAsync("nobody", 0, 10));
        await Driver.StopAsync("nobody", TimeSpan.FromSeconds(1));
        Driver.Remove("nobody");
    }

    [Fact]
    public async Task Remove_ForgetsFinishedInstance_RefusesRunningOne()
    {
        await StartAsync(Request("rm-1", Shell("true")));
        await StartAsync(Request("rm-2", Shell("sleep 30")));
        await WaitForStateAsync("rm-1", WorkloadState.Exited);

        Driver.Remove("rm-1");
        Assert.Throws<InvalidOperationException>(() => Driver.Remove("rm-2"));

        Assert.Equal(WorkloadState.NotFound, (await Driver.GetStatusAsync("rm-1")).State);
        Assert.False(File.Exists(Path.Combine(Root, "rm-1", "pid")));
        Assert.Equal(WorkloadState.Running, (await Driver.GetStatusAsync("rm-2")).State);
    }

    [Fact]
    public async Task Recover_AdoptsLiveProcess_AndMarksDeadOnesExited()
    {
        var first = NewDriver();
        var live = await StartAsync(Request("live", Shell("echo before-restart; sleep 30"), epoch: 7), first);
        await StartAsync(Request("done", Shell("exit 4")), first);
        await WaitForLinesAsync("live", 1, first);
        await WaitForStateAsync("done", WorkloadState.Exited, first);
        // A pid file whose process is gone without a recorded exit (the agent died too): pid reused or not, start time differs.
        var gone = Path.Combine(Root, "gone");
        Directory.CreateDirectory(gone);
        new PidFile("gone", 2, live.Pid!.Value, StartTime: 1, ProcFs.BootId(), DateTimeOffset.UtcNow).Write(gone);
        await first.DisposeAsync();
        Assert.True(Poll.PidExists(live.Pid.Value), "disposing a driver must not stop its processes");

        var second = NewDriver();
        var recovered = await second.RecoverAsync(Root);

        Assert.Equal(3, recovered.Count);
        var adopted = Assert.Single(recovered, s => s.InstanceId == "live");
        Assert.Equal((WorkloadState.Running, live.Pid), (adopted.State, adopted.Pid));
        Assert.True(second.TryGetEpoch("live", out var epoch) && epoch == 7);
        var done = Assert.Single(recovered, s => s.InstanceId == "done");
        Assert.Equal((WorkloadState.Exited, 4), (done.State, done.ExitCode));
        var dead = Assert.Single(recovered, s => s.InstanceId == "gone");
        Assert.Equal((WorkloadState.Exited, (int?)null), (dead.State, dead.ExitCode));

        var logs = await second.ReadLogsAsync("live", 0, 10);
        Assert.Equal([(1L, "before-restart")], logs.Take(1).Select(l => (l.Sequence, l.Text)));
        Assert.Equal(2, logs[1].Sequence);
        Assert.StartsWith(ProcessDriver.NoticePrefix + "adopted", logs[1].Text, StringComparison.Ordinal);

        await Assert.ThrowsAsync<InvalidOperationException>(() => second.StartAsync(Request("live", Shell("true"))));
        await second.StopAsync("live", TimeSpan.FromSeconds(5));
        Assert.False(Poll.PidExists(live.Pid.Value));
        Assert.Equal(WorkloadState.Exited, (await second.GetStatusAsync("live")).State);
    }

    [Fact]
    public async Task Recover_NoticesAdoptedProcessExit()
    {
        var first = NewDriver();
        var live = await StartAsync(Request("adopt-exit", Shell("exec sleep 30")), first);
        await first.DisposeAsync();
        var second = NewDriver();
        await second.RecoverAsync(Root);

        ProcFs.Signal(live.Pid!.Value, ProcFs.SigKill);
        var status = await WaitForStateAsync("adopt-exit", WorkloadState.Exited, second);

        Assert.Null(status.ExitCode);
        Assert.Contains("unknown", status.Message, StringComparison.Ordinal);
    }
}
