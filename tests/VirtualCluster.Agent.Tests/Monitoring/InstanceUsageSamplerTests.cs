using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Agent.Monitoring;
using VirtualCluster.Api;

namespace VirtualCluster.Agent.Tests.Monitoring;

/// <summary>
/// Per-instance usage from /proc: a fake process tree on a fake clock (exact figures, children counted, restarts start
/// over, hostile stat text), and real processes (a busy one uses CPU, a sleeping one does not).
/// </summary>
public sealed class InstanceUsageSamplerTests : IDisposable
{
    private readonly string _proc = Directory.CreateTempSubdirectory("vc-proc-").FullName;
    private readonly FakeTimeProvider _time = new();

    public void Dispose()
    {
        try { Directory.Delete(_proc, recursive: true); } catch (IOException) { }
    }

    private void Process(int pid, int parent, long user, long system, long rssPages, string name = "svc")
    {
        Directory.CreateDirectory(Path.Combine(_proc, pid.ToString()));
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime prio nice threads itreal start vsize rss
        File.WriteAllText(Path.Combine(_proc, pid.ToString(), "stat"),
            $"{pid} ({name}) S {parent} 1 1 0 -1 0 0 0 0 0 {user} {system} 0 0 20 0 1 0 100 1000 {rssPages} 18446744073709551615 1 1 0 0 0\n");
    }

    private static List<InstanceReport> Reports(params (string Id, int Pid)[] instances) =>
        [.. instances.Select(i => new InstanceReport(i.Id, 1, InstanceState.Running, "", 0, i.Pid, []))];

    [Fact]
    public void A_tree_is_summed_and_cpu_is_the_difference_between_two_samples()
    {
        var sampler = new InstanceUsageSampler(_proc, _time);
        Process(100, 1, user: 50, system: 50, rssPages: 1000);          // the service
        Process(101, 100, user: 10, system: 0, rssPages: 500, name: "worker (1)"); // its child, with ") " in its name
        Process(200, 1, user: 999, system: 0, rssPages: 9999);          // someone else's
        Assert.All(sampler.Attach(Reports(("web-1", 100))), r => Assert.Null(r.Usage)); // one sample: no CPU figure yet

        Process(100, 1, user: 150, system: 50, rssPages: 1000);
        Process(101, 100, user: 110, system: 0, rssPages: 500, name: "worker (1)");
        _time.Advance(TimeSpan.FromSeconds(1)); // under the minimum interval: not sampled again
        Assert.Null(sampler.Attach(Reports(("web-1", 100)))[0].Usage);
        _time.Advance(TimeSpan.FromSeconds(1));
        var usage = sampler.Attach(Reports(("web-1", 100)))[0].Usage;
        // 200 ticks (2 s of CPU at 100 per second) over 2 s: one core; resident 1,500 pages.
        Assert.Equal(new InstanceUsage(1000, 1500 * Environment.SystemPageSize), usage);
    }

    [Fact]
    public void A_restarted_instance_starts_over_and_bad_stat_text_is_skipped()
    {
        var sampler = new InstanceUsageSampler(_proc, _time);
        Process(100, 1, 500, 0, 10);
        Directory.CreateDirectory(Path.Combine(_proc, "300"));
        File.WriteAllText(Path.Combine(_proc, "300", "stat"), "300 (bad) S x y z");
        sampler.Attach(Reports(("web-1", 100), ("odd", 300)));
        Process(101, 1, 10, 0, 10); // restarted under a new pid with fewer ticks
        _time.Advance(TimeSpan.FromSeconds(2));
        var reports = sampler.Attach(Reports(("web-1", 101), ("odd", 300)));
        Assert.All(reports, r => Assert.Null(r.Usage));
        Process(101, 1, 30, 0, 10);
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(100, sampler.Attach(Reports(("web-1", 101)))[0].Usage!.CpuMillicores); // 20 ticks in 2 s: the positive control
    }

    [Fact]
    public async Task A_busy_real_process_uses_cpu_and_memory_and_a_sleeping_one_no_cpu()
    {
        var sampler = new InstanceUsageSampler("/proc", TimeProvider.System);
        using var busy = System.Diagnostics.Process.Start(new ProcessStartInfo("sh", ["-c", "yes > /dev/null"]))!;
        using var idle = System.Diagnostics.Process.Start(new ProcessStartInfo("sleep", ["120"]))!;
        try
        {
            var deadline = Stopwatch.StartNew();
            InstanceUsage? busyUsage = null, idleUsage = null;
            // The idle process may spend a tick starting up inside the first interval; a later interval must show none.
            while (deadline.Elapsed < TimeSpan.FromSeconds(60) && (busyUsage is not { CpuMillicores: > 0 } || idleUsage is not { CpuMillicores: 0 }))
            {
                var reports = sampler.Attach(Reports(("busy", busy.Id), ("idle", idle.Id)));
                (busyUsage, idleUsage) = (reports[0].Usage, reports[1].Usage);
                await Task.Delay(200);
            }
            Assert.True(busyUsage is { CpuMillicores: > 0, MemoryBytes: > 0 }, $"busy: {busyUsage}"); // `yes` runs as sh's child
            Assert.True(idleUsage is { CpuMillicores: 0, MemoryBytes: > 0 }, $"idle: {idleUsage}");
        }
        finally
        {
            foreach (var p in new[] { busy, idle })
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                await p.WaitForExitAsync();
            }
        }
    }
}
