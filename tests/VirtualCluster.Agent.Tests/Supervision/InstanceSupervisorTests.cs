using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Agent.Supervision;
using VirtualCluster.Api;

namespace VirtualCluster.Agent.Tests.Supervision;

public sealed class InstanceSupervisorTests
{
    private readonly FakeWorkloadDriver _driver = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
    private readonly InstanceSupervisor _supervisor;

    public InstanceSupervisorTests()
    {
        var options = new AgentOptions { Name = "node-1", DataDirectory = Path.GetTempPath(), MaxRestarts = 2 };
        _supervisor = new InstanceSupervisor([_driver], new HealthProbe(new HttpClient()), _time, options, NullLogger.Instance);
        _supervisor.SetNode("node-abc");
    }

    private static Assignment Assign(string id, long epoch = 1, RestartPolicy policy = RestartPolicy.Always, string driver = "process") =>
        new(id, epoch, new ServiceSpec { Name = "svc", Driver = driver, Command = "x", RestartPolicy = policy }, new Dictionary<string, int>());

    private async Task<InstanceReport> ReportOf(string id) =>
        (await _supervisor.ReportAsync(new Dictionary<string, long>(), default)).Single(r => r.InstanceId == id);

    [Fact]
    public async Task New_assignment_is_started_with_cluster_env_and_reported_running()
    {
        await _supervisor.ApplyAsync([Assign("svc-1", epoch: 7)], default);

        var start = Assert.Single(_driver.Started);
        Assert.Equal("svc-1", start.Environment["VC_INSTANCE_ID"]);
        Assert.Equal("7", start.Environment["VC_EPOCH"]);
        Assert.Equal("node-abc", start.Environment["VC_NODE_ID"]);
        Assert.Equal("node-1", start.Environment["VC_NODE_NAME"]);
        var report = await ReportOf("svc-1");
        Assert.Equal(InstanceState.Running, report.State); // no port: running means healthy
        Assert.Equal(7, report.Epoch);
    }

    [Fact]
    public async Task Instances_no_longer_assigned_or_with_a_new_epoch_are_stopped()
    {
        await _supervisor.ApplyAsync([Assign("a"), Assign("b")], default);
        await _supervisor.ApplyAsync([Assign("b", epoch: 2)], default);

        Assert.Equal(["a", "b"], _driver.Stopped.Order());
        Assert.Equal(3, _driver.Started.Count);
        Assert.Equal(2, (await ReportOf("b")).Epoch);
    }

    [Fact]
    public async Task Exits_restart_with_backoff_then_fail_after_max_restarts()
    {
        await _supervisor.ApplyAsync([Assign("a")], default);
        for (var restart = 1; restart <= 2; restart++)
        {
            _driver.Exit("a", 3);
            await _supervisor.ApplyAsync([Assign("a")], default);
            var report = await ReportOf("a");
            Assert.Equal(InstanceState.Restarting, report.State);
            Assert.Contains("exited with code 3", report.Reason);
            Assert.Equal(restart, _driver.Started.Count); // not yet: backoff first
            _time.Advance(TimeSpan.FromSeconds(31));
            await _supervisor.ApplyAsync([Assign("a")], default);
            Assert.Equal(restart + 1, _driver.Started.Count);
        }
        _driver.Exit("a", 3);
        await _supervisor.ApplyAsync([Assign("a")], default);
        var final = await ReportOf("a");
        Assert.Equal(InstanceState.Failed, final.State);
        Assert.Contains("gave up after 2 restarts", final.Reason);
        Assert.Equal(2, final.RestartCount);
    }

    [Fact]
    public async Task Never_policy_ends_as_exited_or_failed_by_exit_code()
    {
        await _supervisor.ApplyAsync([Assign("ok", policy: RestartPolicy.Never), Assign("bad", policy: RestartPolicy.Never)], default);
        _driver.Exit("ok", 0);
        _driver.Exit("bad", 1);
        await _supervisor.ApplyAsync([Assign("ok", policy: RestartPolicy.Never), Assign("bad", policy: RestartPolicy.Never)], default);

        Assert.Equal(InstanceState.Exited, (await ReportOf("ok")).State);
        Assert.Equal(InstanceState.Failed, (await ReportOf("bad")).State);
        Assert.Equal(2, _driver.Started.Count);
    }

    [Fact]
    public async Task A_missing_driver_fails_at_once_and_a_failed_start_is_retried_with_backoff_until_the_limit()
    {
        _driver.FailStartWith = "command \"nosuch\" not found";
        await _supervisor.ApplyAsync([Assign("d", driver: "docker"), Assign("p")], default);

        var d = await ReportOf("d");
        Assert.Equal(InstanceState.Failed, d.State);
        Assert.Contains("driver \"docker\" is not available", d.Reason);
        var p = await ReportOf("p");
        Assert.Equal(InstanceState.Restarting, p.State);
        Assert.Contains("could not start: command \"nosuch\" not found", p.Reason);
        for (var i = 0; i < 3; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(31));
            await _supervisor.ApplyAsync([Assign("d", driver: "docker"), Assign("p")], default);
        }
        p = await ReportOf("p");
        Assert.Equal(InstanceState.Failed, p.State);
        Assert.Contains("gave up after 2 restarts", p.Reason);
        Assert.Equal(3, _driver.Started.Count);
    }

    [Fact]
    public async Task A_workload_left_running_by_an_earlier_agent_is_adopted_not_duplicated()
    {
        _driver.Workloads["a"] = new Runtime.WorkloadStatus("a", Runtime.WorkloadState.Running, Pid: 4242);
        await _supervisor.ApplyAsync([Assign("a")], default);

        Assert.Empty(_driver.Started);
        var report = await ReportOf("a");
        Assert.Equal(InstanceState.Running, report.State);
        Assert.Equal(4242, report.Pid);
    }

    [Fact]
    public async Task Reports_carry_log_lines_after_the_control_planes_cursor()
    {
        await _supervisor.ApplyAsync([Assign("a")], default);
        var reports = await _supervisor.ReportAsync(new Dictionary<string, long> { ["a"] = 41 }, default);
        Assert.Equal(42, Assert.Single(Assert.Single(reports).Logs).Sequence);
    }
}
