using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Agent.Supervision;
using VirtualCluster.Api;
using VirtualCluster.Runtime;
using VirtualCluster.Runtime.Process;

namespace VirtualCluster.Agent.Tests.Supervision;

/// <summary>What the supervisor does with a driver that is still busy, with unavailable drivers, and with recovered workloads.</summary>
public sealed class DriverProgressAndRecoveryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vc-agent-recovery-").FullName;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));

    private InstanceSupervisor Supervisor(params IWorkloadDriver[] drivers) =>
        new(drivers, new HealthProbe(new HttpClient()), _time, new AgentOptions { Name = "node-1", DataDirectory = _dir }, NullLogger.Instance);

    private static Assignment Assign(string id, string driver = "process") =>
        new(id, 1, new ServiceSpec { Name = "svc", Driver = driver, Command = "x", Image = "app:1" }, new Dictionary<string, int>());

    [Fact]
    public async Task A_driver_still_pulling_shows_its_progress_as_the_reason_and_is_not_probed()
    {
        var docker = new FakeWorkloadDriver("docker") { StartingWith = "pulling image app:1" };
        var supervisor = Supervisor(docker);
        await supervisor.ApplyAsync([Assign("svc-1", "docker")], default);
        var report = Assert.Single(await supervisor.ReportAsync(new Dictionary<string, long>(), default));
        Assert.Equal((InstanceState.Starting, "pulling image app:1"), (report.State, report.Reason));

        docker.Workloads["svc-1"] = new WorkloadStatus("svc-1", WorkloadState.Starting, Message: "pulling image app:1: 45%");
        await supervisor.ApplyAsync([Assign("svc-1", "docker")], default);
        report = Assert.Single(await supervisor.ReportAsync(new Dictionary<string, long>(), default));
        Assert.Equal((InstanceState.Starting, "pulling image app:1: 45%"), (report.State, report.Reason));
    }

    [Fact]
    public async Task Only_available_drivers_are_advertised()
    {
        var docker = new FakeWorkloadDriver("docker") { Available = false };
        var supervisor = Supervisor(new FakeWorkloadDriver("process"), docker);
        Assert.Equal(["process"], await supervisor.AvailableDriverNamesAsync(default));
        docker.Available = true;
        Assert.Equal(["docker", "process"], (await supervisor.AvailableDriverNamesAsync(default)).Order());
    }

    [Fact]
    public async Task Recovered_workloads_no_longer_assigned_are_stopped_and_assigned_ones_are_adopted()
    {
        var instances = Path.Combine(_dir, "instances");
        var earlier = new ProcessDriver();
        var spec = new ServiceSpec { Name = "svc", Driver = "process", Command = "/bin/sleep", Args = ["300"] };
        var kept = await earlier.StartAsync(new WorkloadStartRequest("keep-1", 1, spec, new Dictionary<string, int>(), new Dictionary<string, string>(), Path.Combine(instances, "keep-1")));
        var orphan = await earlier.StartAsync(new WorkloadStartRequest("gone-1", 1, spec, new Dictionary<string, int>(), new Dictionary<string, string>(), Path.Combine(instances, "gone-1")));
        await earlier.DisposeAsync();
        try
        {
            var driver = new ProcessDriver();
            var supervisor = Supervisor(driver);
            Assert.Equal(2, (await supervisor.RecoverAsync(instances, default)).Count);
            var assignments = new[] { new Assignment("keep-1", 1, spec, new Dictionary<string, int>()) };
            await supervisor.StopUnassignedRecoveredAsync(assignments, default);
            await supervisor.ApplyAsync(assignments, default);

            Assert.Equal(WorkloadState.NotFound, (await driver.GetStatusAsync("gone-1")).State);
            Assert.False(Alive(orphan.Pid!.Value));
            var report = Assert.Single(await supervisor.ReportAsync(new Dictionary<string, long>(), default));
            Assert.Equal(("keep-1", kept.Pid), (report.InstanceId, report.Pid));
            Assert.True(Alive(kept.Pid!.Value));
            await supervisor.StopAllAsync(default);
        }
        finally
        {
            foreach (var pid in new[] { kept.Pid, orphan.Pid }.OfType<int>())
                try { System.Diagnostics.Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
        }
    }

    private static bool Alive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
