using System.Diagnostics;
using System.Globalization;
using VirtualCluster.Benchmarks.Scheduling.Quality;

namespace VirtualCluster.Benchmarks.Scheduling;

/// <summary>
/// Machines used for trace-shaped task sets: our batch placement (each algorithm, and the best of them) against the
/// Martello–Toth lower bound on large sets, and against OR-Tools CP-SAT on sets small enough to solve, in one run.
/// </summary>
internal static class QualityHarness
{
    private static readonly TimeSpan SolveLimit = TimeSpan.FromSeconds(10);

    public static void Run(bool quick, TextWriter output)
    {
        int[] large = quick ? [1_000] : [1_000, 5_000];
        int[] small = quick ? [50] : [50, 100, 200];
        var seeds = quick ? 1 : 3;
        var scheduler = new PipelineScheduler(new VirtualCluster.Scheduling.SchedulerOptions { ReportScores = false });

        output.WriteLine("Large sets, against the lower bound max(L2 cpu, L2 memory):");
        output.WriteLine();
        output.WriteLine("| set | items | lower bound | best of ours | ours / bound | FFD | pipeline (BFD) | dot product | our time |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        var gaps = new List<double>();
        var worseThanFfd = 0;
        foreach (var shape in TraceLikeSets.Shapes)
        foreach (var count in large)
        for (var seed = 1; seed <= seeds; seed++)
        {
            var items = TraceLikeSets.Generate(shape, count, seed);
            var bound = BinPackingBounds.Vector(items, TraceLikeSets.Capacity);
            var run = Ours(scheduler, items, bound);
            gaps.Add((double)run.Best / bound - 1);
            if (run.Best > run.Ffd) worseThanFfd++;
            output.WriteLine(Invariant($"| {shape} #{seed} | {count:N0} | {bound} | {run.Best} | {(double)run.Best / bound:0.000} | {run.Ffd} | {run.Pipeline} | {run.Dot} | {run.Time.TotalMilliseconds:N0} ms |"));
        }
        output.WriteLine();
        output.WriteLine(Invariant($"Average gap to the lower bound: {gaps.Average():P2} (worst {gaps.Max():P2}); sets where we used more machines than FFD: {worseThanFfd}."));
        output.WriteLine();

        output.WriteLine(Invariant($"Small sets, against CP-SAT (OR-Tools, {SolveLimit.TotalSeconds:0} s limit, 2 workers):"));
        output.WriteLine();
        output.WriteLine("| set | items | lower bound | CP-SAT bins | CP-SAT proven bound | best of ours | ours / CP-SAT | FFD | our time | CP-SAT time | time ratio |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var ratios = new List<double>();
        foreach (var shape in TraceLikeSets.Shapes)
        foreach (var count in small)
        for (var seed = 1; seed <= seeds; seed++)
        {
            var items = TraceLikeSets.Generate(shape, count, 100 + seed);
            var bound = BinPackingBounds.Vector(items, TraceLikeSets.Capacity);
            var run = Ours(scheduler, items, bound);
            var exact = CpSatBinPacking.Solve(items, TraceLikeSets.Capacity, run.Best, bound, SolveLimit);
            ratios.Add((double)run.Best / exact.Bins);
            output.WriteLine(Invariant(
                $"| {shape} #{seed} | {count} | {bound} | {exact.Bins}{(exact.Optimal ? " (optimal)" : "")} | {exact.Bound} | {run.Best} | {(double)run.Best / exact.Bins:0.000} | {run.Ffd} | {run.Time.TotalMilliseconds:N1} ms | {exact.Time.TotalMilliseconds:N0} ms | {exact.Time / run.Time:N0}× |"));
        }
        output.WriteLine();
        output.WriteLine(Invariant($"Average ours / CP-SAT: {ratios.Average():0.000} (worst {ratios.Max():0.000})."));
    }

    private sealed record Outcome(int Best, int Ffd, int Pipeline, int Dot, TimeSpan Time);

    private static Outcome Ours(PipelineScheduler scheduler, List<(int Cpu, int Memory)> items, int bound)
    {
        var nodes = Enumerable.Range(0, Math.Min(items.Count, 2 * bound + 10)).Select(i => new NodeCandidate(
            new NodeInfo($"id-{i:D5}", $"m-{i:D5}", "127.0.0.1", new Resources(TraceLikeSets.Capacity, TraceLikeSets.Capacity, 0), default,
                ["process"], new PortRange(20000, 20999), new Dictionary<string, string>(), NodeState.Alive, null),
            default, new HashSet<int>(), [])).ToList();
        var batch = items.GroupBy(i => i).Select(g => new BatchItem(new ServiceSpec
        {
            Name = Invariant($"t{g.Key.Cpu}x{g.Key.Memory}"),
            Driver = "process",
            Command = "run",
            Resources = new Resources(g.Key.Cpu, g.Key.Memory, 0),
            Placement = PlacementSpec.None with { AntiAffinity = AntiAffinityMode.None },
        }, g.Count())).ToList();
        var watch = Stopwatch.StartNew();
        var results = new Dictionary<BatchAlgorithm, int>();
        foreach (var algorithm in new[] { BatchAlgorithm.Pipeline, BatchAlgorithm.FirstFitDecreasing, BatchAlgorithm.DotProduct })
        {
            var result = BatchPlacer.Place(scheduler, scheduler.CreateState(nodes), batch, algorithm);
            results[algorithm] = result.Succeeded ? result.NodesUsed : int.MaxValue;
        }
        watch.Stop();
        return new Outcome(results.Values.Min(), results[BatchAlgorithm.FirstFitDecreasing], results[BatchAlgorithm.Pipeline], results[BatchAlgorithm.DotProduct], watch.Elapsed);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
