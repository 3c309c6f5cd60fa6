using System.Globalization;

namespace VirtualCluster.Benchmarks.Scheduling;

/// <summary>
/// Where an indexed placement's time goes at 10,000 nodes: selection alone (no reservation), booking alone
/// (reserve and release on the chosen nodes), and the whole place-and-release of the throughput harness.
/// </summary>
internal static class SplitHarness
{
    public static void Run(TextWriter output)
    {
        var specs = Workloads.Services();
        var scheduler = ThroughputHarness.Scheduler(PlacementIndexMode.Always);
        var (state, _) = Workloads.Filled(scheduler, 10_000, specs, 0.5);
        var pipeline = scheduler.Pipeline;
        var chosen = specs.ToDictionary(s => s, s => pipeline.TrySelect(pipeline.CreateContext(state, s), out var n, out _) ? n : -1);
        var duration = TimeSpan.FromSeconds(2);
        var select = ThroughputHarness.Measure(() => specs, spec => pipeline.TrySelect(pipeline.CreateContext(state, spec), out _, out _), specs, duration);
        var book = ThroughputHarness.Measure(() => specs, spec =>
        {
            var node = chosen[spec];
            if (node < 0) return;
            var ports = state.Reserve(node, spec);
            state.Release(node, spec, ports.Values);
        }, specs, duration);
        var whole = ThroughputHarness.Measure(() => specs, spec => ThroughputHarness.PlaceAndRelease(scheduler, state, spec), specs, duration);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"10,000 nodes, per CPU-second: select only {select:N0}, reserve+release only {book:N0}, place+release {whole:N0}"));
        // Per service: which kinds of request the index serves slowly (strategy, rules, resources), and the search's work per selection.
        foreach (var spec in specs)
        {
            var stats = state.IndexForSelection()!.Stats;
            var (selections, expanded, buckets, bounded, scored, bounds) = (stats.Selections, stats.Expanded, stats.Buckets, stats.NodesBounded, stats.Scored, stats.Bounds);
            for (var k = 0; k < 100; k++) pipeline.TrySelect(pipeline.CreateContext(state, spec), out _, out _);
            var per = (double)(stats.Selections - selections);
            var work = string.Create(CultureInfo.InvariantCulture,
                $"per selection: {(stats.Bounds - bounds) / per:0.#} subtree bounds, {(stats.Expanded - expanded) / per:0.#} tree nodes expanded, {(stats.Buckets - buckets) / per:0.#} buckets, {(stats.NodesBounded - bounded) / per:0.#} nodes bounded, {(stats.Scored - scored) / per:0.#} scored");
            var one = ThroughputHarness.Measure(() => specs, ignored => pipeline.TrySelect(pipeline.CreateContext(state, spec), out _, out _), specs,
                TimeSpan.FromMilliseconds(600));
            var p = spec.Placement;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {spec.Name}: select {one:N0}/s ({p.Strategy}, anti-affinity {p.AntiAffinity}, affinity {p.Affinity.Count}, spread {p.TopologySpread.Count}, constraints {p.Constraints.Count}, disk {spec.Resources.DiskBytes > 0}, gpus {spec.Resources.Gpus}, ports {spec.Ports.Count}); {work}"));
        }
        // Last: the runs' 24,000 updates lay the leaves out again from a fill mid-run, which the lines above should not see.
        output.WriteLine(Runs(scheduler, state, specs));
    }

    /// <summary>
    /// Runs of 2,000 placements that accumulate (as the quick harness's second line), released after each run: the
    /// search's work per selection and the index's upkeep per placement.
    /// </summary>
    private static string Runs(PipelineScheduler scheduler, ClusterState state, IReadOnlyList<ServiceSpec> specs)
    {
        var stats = state.IndexForSelection()!.Stats;
        var (selections, expanded, buckets, bounded, scored, recounted, bounds) = (stats.Selections, stats.Expanded, stats.Buckets, stats.NodesBounded, stats.Scored, stats.BucketsRecounted, stats.Bounds);
        var made = new List<(ServiceSpec Spec, Placement Placement)>();
        var best = 0.0;
        for (var round = 0; round < 5; round++)
        {
            var cpu = CpuTime.Thread();
            for (var k = 0; k < 2_000; k++)
            {
                var spec = specs[k % specs.Count];
                var result = scheduler.Place(state, spec, 1);
                if (result.Succeeded) made.Add((spec, result.Placements[0]));
            }
            best = Math.Max(best, 2_000 / (CpuTime.Thread() - cpu).TotalSeconds);
            foreach (var (spec, placement) in made) state.Release(state.IndexOf(placement.NodeId), spec, placement.Ports.Values);
            made.Clear();
        }
        // One more run, untimed, for the search's work per service (which requests pay for the colder searches).
        var work = new Dictionary<string, (long Bounds, long Nodes, long Count)>();
        for (var k = 0; k < 2_000; k++)
        {
            var spec = specs[k % specs.Count];
            var (b0, n0) = (stats.Bounds, stats.NodesBounded);
            var result = scheduler.Place(state, spec, 1);
            if (result.Succeeded) made.Add((spec, result.Placements[0]));
            var w = work.GetValueOrDefault(spec.Name);
            work[spec.Name] = (w.Bounds + stats.Bounds - b0, w.Nodes + stats.NodesBounded - n0, w.Count + 1);
        }
        foreach (var (spec, placement) in made) state.Release(state.IndexOf(placement.NodeId), spec, placement.Ports.Values);
        made.Clear();
        var perService = string.Join(", ", work.Select(w => string.Create(CultureInfo.InvariantCulture, $"{w.Key} {w.Value.Bounds / (double)w.Value.Count:0}/{w.Value.Nodes / (double)w.Value.Count:0}")));
        var per = (double)(stats.Selections - selections);
        return string.Create(CultureInfo.InvariantCulture,
            $"runs of 2,000 accumulating placements: {best:N0} /s (best of 5 runs); per selection: {(stats.Bounds - bounds) / per:0.#} subtree bounds, {(stats.Expanded - expanded) / per:0.#} tree nodes expanded, {(stats.Buckets - buckets) / per:0.#} buckets, {(stats.NodesBounded - bounded) / per:0.#} nodes bounded, {(stats.Scored - scored) / per:0.#} scored, {(stats.BucketsRecounted - recounted) / per:0.##} buckets recounted; per service (subtree bounds/nodes bounded): {perService}");
    }

    /// <summary>
    /// Place and release round-robin at 10,000 nodes for <paramref name="seconds"/> seconds (or, with <paramref name="runs"/>,
    /// runs of 2,000 placements released afterwards), nothing else: a steady
    /// loop to attach a profiler to (<c>DOTNET_PerfMapEnabled=1 perf record -g -p PID</c>).
    /// </summary>
    public static void Loop(int seconds, bool runs, TextWriter output)
    {
        var specs = Workloads.Services();
        var scheduler = ThroughputHarness.Scheduler(PlacementIndexMode.Always);
        var (state, _) = Workloads.Filled(scheduler, 10_000, specs, 0.5);
        output.WriteLine($"pid {Environment.ProcessId}: placing for {seconds} s");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        long done = 0;
        var made = new List<(ServiceSpec Spec, Placement Placement)>();
        while (watch.Elapsed.TotalSeconds < seconds)
        {
            if (!runs)
            {
                for (var i = 0; i < 1000; i++) ThroughputHarness.PlaceAndRelease(scheduler, state, specs[(int)(done++ % specs.Count)]);
                continue;
            }
            // Runs of 2,000 placements that accumulate, then released (as the quick harness's second table).
            for (var i = 0; i < 2000; i++)
            {
                var spec = specs[(int)(done++ % specs.Count)];
                var result = scheduler.Place(state, spec, 1);
                if (result.Succeeded) made.Add((spec, result.Placements[0]));
            }
            foreach (var (spec, placement) in made) state.Release(state.IndexOf(placement.NodeId), spec, placement.Ports.Values);
            made.Clear();
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{done:N0} placements, {done / watch.Elapsed.TotalSeconds:N0} /s wall"));
    }
}
