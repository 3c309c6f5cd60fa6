using System.Diagnostics;
namespace VirtualCluster.Benchmarks.Scheduling;
internal static class Diag
{
    public static void Run()
    {
        var scheduler = new PipelineScheduler(new VirtualCluster.Scheduling.SchedulerOptions { ReportScores = false });
        var specs = Workloads.Services();
        var state = Workloads.Filled(scheduler, 10_000, specs, 0.5);
        foreach (var spec in specs)
        {
            for (int i = 0; i < 200; i++) ThroughputHarness.PlaceAndRelease(scheduler, state, spec);
            var ok = scheduler.Place(state, spec, 1);
            if (ok.Succeeded) state.Release(state.IndexOf(ok.Placements[0].NodeId), spec, ok.Placements[0].Ports.Values);
            var before = GC.GetAllocatedBytesForCurrentThread();
            var w = Stopwatch.StartNew();
            for (int i = 0; i < 500; i++) ThroughputHarness.PlaceAndRelease(scheduler, state, spec);
            Console.WriteLine($"{spec.Name} ok={ok.Succeeded} {w.Elapsed.TotalMicroseconds / 500:N1} us {(GC.GetAllocatedBytesForCurrentThread() - before) / 500} B static={scheduler.Pipeline.CreateContext(state, spec).StaticNodes.Length} {(ok.Failure?.Message ?? "")[..Math.Min(150, ok.Failure?.Message.Length ?? 0)]}");
        }
    }
}
