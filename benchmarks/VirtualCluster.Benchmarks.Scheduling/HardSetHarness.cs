using System.Diagnostics;
using System.Globalization;
using VirtualCluster.Benchmarks.Scheduling.Quality;

namespace VirtualCluster.Benchmarks.Scheduling;

/// <summary>
/// Machines used on <see cref="HardSets"/>: <see cref="BinPacking.Pack"/> with the greedy best of three only
/// (improvement budget 0) and with the improvement phase (100 ms), against CP-SAT's 60 s result read from
/// <see cref="CpSatCache"/> (solved once, committed with its date).
/// </summary>
internal static class HardSetHarness
{
    public static void Run(TextWriter output, TimeSpan budget)
    {
        var cache = CpSatCache.Ensure(CpSatCache.DefaultPath, resolve: false, output);
        output.WriteLine(FormattableString.Invariant($"| set | items | lower bound | CP-SAT 60 s (date) | greedy best of three | with improvement ({budget.TotalMilliseconds:N0} ms) | improved − CP-SAT | our time (wall) | our CPU time |"));
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        // Warm-up: the first packing would otherwise pay the JIT compilation of the improvement phase in its 100 ms.
        var warm = HardSets.Generate(HardSets.Shapes[0], HardSets.Sizes[0], 99).Select(i => new Resources(i.Cpu, i.Memory, 0)).ToList();
        BinPacking.Pack(warm, Enumerable.Repeat(new Resources(TraceLikeSets.Capacity, TraceLikeSets.Capacity, 0), warm.Count).ToList());
        int worse = 0, total = 0;
        var slowest = TimeSpan.Zero;
        foreach (var shape in HardSets.Shapes)
        foreach (var count in HardSets.Sizes)
        foreach (var seed in HardSets.Seeds)
        {
            var items = HardSets.Generate(shape, count, seed);
            var resources = items.Select(i => new Resources(i.Cpu, i.Memory, 0)).ToList();
            var bins = Enumerable.Repeat(new Resources(TraceLikeSets.Capacity, TraceLikeSets.Capacity, 0), items.Count).ToList();
            var greedy = BinPacking.Pack(resources, bins, new BatchOptions { ImprovementBudget = TimeSpan.Zero });
            var cpu = CpuTime.Thread();
            var watch = Stopwatch.StartNew();
            var improved = BinPacking.Pack(resources, bins, new BatchOptions { ImprovementBudget = budget });
            watch.Stop();
            var cpuTime = CpuTime.Thread() - cpu;
            Verify(resources, bins, improved);
            slowest = watch.Elapsed > slowest ? watch.Elapsed : slowest;
            var exact = cache[CpSatCache.Key(shape, count, seed)];
            total++;
            if (improved.BinsUsed > exact.Bins) worse++;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {shape} #{seed} | {count} | {BinPackingBounds.Vector(items, TraceLikeSets.Capacity)} | {exact.Bins}{(exact.Optimal ? " (optimal)" : "")} ({exact.Date}) | {greedy.BinsUsed} | {improved.BinsUsed} | {improved.BinsUsed - exact.Bins:+0;-0;0} | {watch.Elapsed.TotalMilliseconds:N0} ms | {cpuTime.TotalMilliseconds:N0} ms |"));
        }
        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Sets where we use more machines than CP-SAT's 60 s result: {worse} of {total}; slowest packing {slowest.TotalMilliseconds:N0} ms."));
    }

    /// <summary>Every item packed, no bin over its capacity: a count from a packing that does not fit would mean nothing.</summary>
    private static void Verify(List<Resources> items, List<Resources> bins, BinPackingResult result)
    {
        if (!result.Succeeded || result.BinOfItem.Count != items.Count) throw new InvalidOperationException("packing failed: " + result.Failure);
        var load = new Resources[bins.Count];
        for (var k = 0; k < items.Count; k++) load[result.BinOfItem[k]] += items[k];
        for (var b = 0; b < bins.Count; b++)
            if (!bins[b].Fits(load[b])) throw new InvalidOperationException($"bin {b} holds {load[b]}, over {bins[b]}");
        if (result.BinOfItem.Distinct().Count() != result.BinsUsed) throw new InvalidOperationException("BinsUsed does not count the bins used");
    }
}
