using System.Diagnostics;
using System.Globalization;

namespace VirtualCluster.Benchmarks.Scheduling;

/// <summary>
/// Placements per second on one thread, with every filter and scorer: each operation places one instance
/// (round-robin over twenty mixed services) on a cluster half full and releases it, so the state stays the same.
/// </summary>
internal static class ThroughputHarness
{
    public static void Run(TimeSpan perSize, TextWriter output)
    {
        var scheduler = new PipelineScheduler(new VirtualCluster.Scheduling.SchedulerOptions { ReportScores = false });
        var specs = Workloads.Services();
        output.WriteLine("nodes | placements/s (place+release) | µs/placement | allocated bytes/placement");
        foreach (var nodes in new[] { 100, 1_000, 10_000 })
        {
            var state = Workloads.Filled(scheduler, nodes, specs, 0.5);
            var (rate, bytes) = Measure(scheduler, state, specs, perSize);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{nodes,6} | {rate,12:N0} | {1e6 / rate,8:N1} | {bytes:N0}"));
        }
        var batch = BatchThroughput(scheduler, specs);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"batch of 10,000 instances on 10,000 nodes: {batch.TotalMilliseconds:N0} ms"));
    }

    public static (double Rate, double Bytes) Measure(PipelineScheduler scheduler, ClusterState state, IReadOnlyList<ServiceSpec> specs, TimeSpan duration)
    {
        // Warm up (JIT tiers, static caches per spec).
        for (var i = 0; i < 2_000; i++) PlaceAndRelease(scheduler, state, specs[i % specs.Count]);
        var watch = Stopwatch.StartNew();
        var cpu = CpuTime.Thread();
        var before = GC.GetAllocatedBytesForCurrentThread();
        long operations = 0;
        while (watch.Elapsed < duration)
        {
            for (var i = 0; i < 200; i++) PlaceAndRelease(scheduler, state, specs[(int)(operations++ % specs.Count)]);
        }
        var bytes = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)operations;
        // Per CPU-second of this thread: the machine is shared, so wall time would count other people's builds.
        return (operations / (CpuTime.Thread() - cpu).TotalSeconds, bytes);
    }

    public static void PlaceAndRelease(PipelineScheduler scheduler, ClusterState state, ServiceSpec spec)
    {
        var result = scheduler.Place(state, spec, 1);
        if (!result.Succeeded) return;
        var placement = result.Placements[0];
        state.Release(state.IndexOf(placement.NodeId), spec, placement.Ports.Values);
    }

    private static TimeSpan BatchThroughput(PipelineScheduler scheduler, IReadOnlyList<ServiceSpec> specs)
    {
        var state = scheduler.CreateState(Workloads.Cluster(10_000));
        var watch = Stopwatch.StartNew();
        var placed = 0;
        for (var i = 0; i < 10_000; i++)
            if (scheduler.Place(state, specs[i % specs.Count], 1).Succeeded) placed++;
        return watch.Elapsed;
    }
}
