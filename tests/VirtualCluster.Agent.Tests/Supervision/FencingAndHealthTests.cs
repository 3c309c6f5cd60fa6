using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Agent.Fencing;
using VirtualCluster.Agent.Supervision;
using VirtualCluster.Api;

namespace VirtualCluster.Agent.Tests.Supervision;

/// <summary>Self-fencing when the lease runs out, health thresholds and grace, and command checks.</summary>
public sealed class FencingAndHealthTests : IDisposable
{
    private readonly FakeWorkloadDriver _driver = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
    private readonly FencingLease _lease;
    private readonly InstanceSupervisor _supervisor;
    private readonly string _dir = Directory.CreateTempSubdirectory("vc-agent-health-").FullName;

    public FencingAndHealthTests()
    {
        _lease = new FencingLease(_time);
        var options = new AgentOptions { Name = "node-1", DataDirectory = _dir, MaxRestarts = 2 };
        _supervisor = new InstanceSupervisor([_driver], new HealthProbe(new HttpClient()), _time, options, NullLogger.Instance, _lease);
    }

    private static Assignment Assign(string id, int replicas = 1, FailoverPolicy? failover = null, HealthCheckSpec? check = null) =>
        new(id, 1, new ServiceSpec
        {
            Name = "svc", Driver = "process", Command = "x", Replicas = replicas, Failover = failover ?? FailoverPolicy.Default, HealthCheck = check,
        }, new Dictionary<string, int> { ["http"] = 20001 });

    private InstanceSnapshot Of(string id) => _supervisor.Snapshot.Single(s => s.Id == id);

    private void RenewLease(TimeSpan lease) => _lease.Renew(_time.GetTimestamp(), lease);

    [Fact]
    public async Task When_the_lease_runs_out_singletons_are_stopped_for_good_and_an_event_is_queued()
    {
        RenewLease(TimeSpan.FromSeconds(3));
        Assignment[] all = [Assign("single"), Assign("replicated", replicas: 2), Assign("pinned", failover: FailoverPolicy.Never)];
        await _supervisor.ApplyAsync(all, default);
        Assert.True(Of("single").FencedSingleton);

        _time.Advance(TimeSpan.FromMilliseconds(2900));
        await _supervisor.ApplyAsync(all, default);
        Assert.Empty(_driver.Stopped);

        _time.Advance(TimeSpan.FromMilliseconds(100));
        await _supervisor.ApplyAsync(all, default);

        Assert.Equal(["single"], _driver.Stopped);
        var fenced = Of("single");
        Assert.Equal(InstanceState.Stopped, fenced.State);
        Assert.StartsWith("fenced: no answer from the control plane for 3.0 s (fencing lease 3.0 s)", fenced.Reason);
        var e = Assert.Single(_supervisor.PendingEvents(10));
        Assert.Equal((EventKinds.InstanceFenced, "single"), (e.Kind, e.InstanceId));

        // Reconnected, still assigned at the same epoch: it stays stopped; the control plane replaces it.
        RenewLease(TimeSpan.FromSeconds(3));
        await _supervisor.ApplyAsync(all, default);
        Assert.Equal(3, _driver.Started.Count);
        Assert.Equal(InstanceState.Stopped, Of("single").State);
        _supervisor.RemoveEvents(_supervisor.PendingEvents(10));
        Assert.Empty(_supervisor.PendingEvents(10));
    }

    [Fact]
    public async Task No_singleton_starts_or_restarts_while_the_lease_has_run_out()
    {
        RenewLease(TimeSpan.FromSeconds(1));
        _time.Advance(TimeSpan.FromSeconds(2));
        await _supervisor.ApplyAsync([Assign("single"), Assign("replicated", replicas: 3)], default);
        Assert.Equal(["replicated"], _driver.Started.Select(s => s.InstanceId));
    }

    [Fact]
    public async Task Without_a_lease_from_the_control_plane_nothing_is_fenced()
    {
        _lease.Renew(_time.GetTimestamp(), TimeSpan.Zero);
        await _supervisor.ApplyAsync([Assign("single")], default);
        _time.Advance(TimeSpan.FromHours(1));
        await _supervisor.ApplyAsync([Assign("single")], default);
        Assert.Empty(_driver.Stopped);
    }

    private string ReadyFile => Path.Combine(_dir, "ready");

    private HealthCheckSpec FileCheck(int threshold = 2, double graceSeconds = 0) =>
        new(HealthCheckType.Command, "", "/", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1))
        {
            Command = "/bin/sh", Args = ["-c", $"test -f '{ReadyFile}'"], FailureThreshold = threshold, GracePeriod = TimeSpan.FromSeconds(graceSeconds),
        };

    [Fact]
    public async Task A_running_instance_that_fails_its_check_threshold_times_in_a_row_is_restarted()
    {
        File.WriteAllText(ReadyFile, "");
        var a = Assign("a", check: FileCheck(threshold: 2));
        await _supervisor.ApplyAsync([a], default);
        Assert.Equal(InstanceState.Running, Of("a").State);

        File.Delete(ReadyFile);
        _time.Advance(TimeSpan.FromSeconds(1));
        await _supervisor.ApplyAsync([a], default);
        Assert.Equal(InstanceState.Unhealthy, Of("a").State);
        Assert.Contains("(1 of 2 failed checks)", Of("a").Reason);
        Assert.Empty(_driver.Stopped);

        _time.Advance(TimeSpan.FromSeconds(1));
        await _supervisor.ApplyAsync([a], default);
        Assert.Equal(InstanceState.Restarting, Of("a").State);
        Assert.Contains("failed its health check 2 times in a row", Of("a").Reason);
        Assert.Equal(["a"], _driver.Stopped);

        File.WriteAllText(ReadyFile, "");
        _time.Advance(TimeSpan.FromSeconds(2));
        await _supervisor.ApplyAsync([a], default);
        await _supervisor.ApplyAsync([a], default);
        Assert.Equal(2, _driver.Started.Count);
        Assert.Equal((InstanceState.Running, 1), (Of("a").State, Of("a").RestartCount));
    }

    [Fact]
    public async Task Failures_during_the_grace_period_of_a_start_do_not_count()
    {
        var a = Assign("a", check: FileCheck(threshold: 1, graceSeconds: 5));
        await _supervisor.ApplyAsync([a], default);
        for (var i = 0; i < 4; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await _supervisor.ApplyAsync([a], default);
        }
        Assert.Equal(InstanceState.Starting, Of("a").State);
        Assert.Contains("exited with code 1", Of("a").Reason);

        _time.Advance(TimeSpan.FromSeconds(1.5));
        await _supervisor.ApplyAsync([a], default);
        Assert.Equal(InstanceState.Restarting, Of("a").State);
        Assert.Contains("never passed its health check within 5 s", Of("a").Reason);
    }

    [Fact]
    public async Task A_command_check_gets_the_instance_environment()
    {
        var check = new HealthCheckSpec(HealthCheckType.Command, "", "/", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1))
        {
            Command = "/bin/sh", Args = ["-c", "test \"$VC_INSTANCE_ID\" = a && test \"$PORT\" = 20001 && test \"$VC_PORT_HTTP\" = 20001"],
        };
        var a = Assign("a", check: check);
        a = a with { Spec = a.Spec with { Ports = [new PortSpec("http")] } };
        await _supervisor.ApplyAsync([a], default);
        Assert.Equal(InstanceState.Running, Of("a").State);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
