namespace VirtualCluster.Scheduling;

/// <summary>Where each item went: <see cref="BinOfItem"/>[k] is the bin index of item k; or why they do not fit.</summary>
/// <param name="BinOfItem">Bin index per item (empty on failure).</param>
/// <param name="BinsUsed">Bins holding at least one item.</param>
/// <param name="Failure">Why the items do not fit, or null.</param>
public sealed record BinPackingResult(IReadOnlyList<int> BinOfItem, int BinsUsed, string? Failure)
{
    /// <summary>True when every item was packed.</summary>
    public bool Succeeded => Failure is null;
}

/// <summary>
/// Vector bin packing for callers that only want the algorithm (benchmarks, simulators): items and bin capacities
/// in, a bin per item out, using as few bins as the batch placer finds (<see cref="BatchAlgorithm.Best"/>: the best
/// of three greedy packings, then the improvement phase within <see cref="BatchOptions.ImprovementBudget"/>).
/// Bins are tried in the order given.
/// </summary>
public static class BinPacking
{
    /// <summary>Packs <paramref name="items"/> into <paramref name="bins"/>.</summary>
    /// <exception cref="ArgumentException">A list is null or an item or bin has a negative figure.</exception>
    public static BinPackingResult Pack(IReadOnlyList<Resources> items, IReadOnlyList<Resources> bins, BatchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(bins);
        if (options?.Validate() is { Count: > 0 } errors) throw new ArgumentException("invalid batch options: " + string.Join(" ", errors), nameof(options));
        for (var k = 0; k < items.Count; k++)
            if (IsNegative(items[k])) throw new ArgumentException($"item {k} ({items[k]}) has a negative figure; sizes must be 0 or more", nameof(items));
        for (var b = 0; b < bins.Count; b++)
            if (IsNegative(bins[b])) throw new ArgumentException($"bin {b} ({bins[b]}) has a negative capacity; capacities must be 0 or more", nameof(bins));
        if (items.Count == 0) return new BinPackingResult([], 0, null);
        if (bins.Count == 0) return new BinPackingResult([], 0, $"{items.Count} item(s) and no bins; pass at least one bin");
        var nodes = bins.Select((capacity, b) => Build.Node($"bin-{b:D7}", capacity)).ToList();
        // One spec per distinct size, so identical items share the pipeline's per-spec work.
        var groups = Enumerable.Range(0, items.Count).GroupBy(k => items[k]).ToList();
        var batch = groups.Select((g, n) => new BatchItem(Build.Spec($"item-{n}", g.Key, AntiAffinityMode.None), g.Count())).ToList();
        var scheduler = new PipelineScheduler(new SchedulerOptions { ReportScores = false, UseMeasuredUsage = false });
        var result = BatchPlacer.Place(scheduler, nodes, batch, BatchAlgorithm.Best, options);
        if (!result.Succeeded) return new BinPackingResult([], 0, result.Failure!.Message);
        var binOf = new int[items.Count];
        for (var n = 0; n < groups.Count; n++)
        {
            var placements = result.Placements[$"item-{n}"];
            var k = 0;
            foreach (var item in groups[n]) binOf[item] = int.Parse(placements[k++].NodeId.AsSpan("id-bin-".Length), System.Globalization.CultureInfo.InvariantCulture);
        }
        return new BinPackingResult(binOf, binOf.Distinct().Count(), null);
    }

    private static bool IsNegative(Resources r) => r.CpuMillicores < 0 || r.MemoryBytes < 0 || r.DiskBytes < 0 || r.Gpus < 0;
}
