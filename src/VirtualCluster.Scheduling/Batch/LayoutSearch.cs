namespace VirtualCluster.Scheduling;

/// <summary>
/// Runs <see cref="PackingSearch"/> on a layout kept in a <see cref="ClusterState"/> (instances reserved with
/// <see cref="ClusterState.ReserveResources"/>) and applies what it finds only when the full pipeline agrees.
/// </summary>
/// <remarks>
/// <para>Bins are the nodes in use; a node that is not in use is never opened. Instances with required
/// anti-affinity or topology spread stay where they are (the search knows resources, ports and the static filters,
/// not those rules), and so does everything when the pipeline holds custom dynamic filters; what stays counts as
/// other work on its node, which can then not be emptied.</para>
/// <para>Proof of "never worse, never infeasible": the found layout is applied, then every moved instance is
/// released and checked with <see cref="PlacementPipeline.IsFeasible"/> on its node (one more instance fits with
/// everything else in place) and reserved again; if any check fails or fewer nodes are not in use, every move is
/// undone and the caller's layout stands.</para>
/// </remarks>
internal static class LayoutSearch
{
    /// <summary>Most swap steps per call, so a frozen clock (tests) still ends.</summary>
    internal const int MaxSteps = 20_000;

    /// <summary>
    /// Improves <paramref name="nodes"/> (node of each instance of <paramref name="specs"/>) in place; returns nodes
    /// freed. <paramref name="constructions"/>: whole re-packings tried first (0: only the local search, which moves fewer instances).
    /// </summary>
    public static int Improve(PlacementPipeline pipeline, ClusterState state, IReadOnlyList<ServiceSpec> specs, int[] nodes, int seed,
        Func<bool> expired, int maxSteps = MaxSteps, int constructions = 16)
    {
        if (!pipeline.DynamicFiltersAreBuiltIn || specs.Count == 0 || expired()) return 0;
        var movable = specs.Select(s => s.Placement.TopologySpread.Count == 0 && s.Placement.AntiAffinity != AntiAffinityMode.Required).ToArray();
        var bins = Enumerable.Range(0, state.Count).Where(i => Used(state, i)).ToArray();
        var binOfNode = new Dictionary<int, int>(bins.Length);
        for (var b = 0; b < bins.Length; b++) binOfNode[bins[b]] = b;
        // An instance that reserves nothing can sit on a node not in use; it stays there (it costs no node).
        var items = Enumerable.Range(0, specs.Count).Where(k => movable[k] && binOfNode.ContainsKey(nodes[k])).ToArray();
        if (items.Length == 0 || bins.Length < 2) return 0;
        var usedBefore = bins.Length;

        // Free capacity of each bin without the movable instances; contexts with them released, like a fresh placement.
        foreach (var k in items) state.ReleaseResources(nodes[k], specs[k], specs[k].Ports.Count);
        var free = new long[bins.Length * PackingSearch.Dims];
        var pinned = new bool[bins.Length];
        for (var b = 0; b < bins.Length; b++)
        {
            var f = state.Free(bins[b]);
            Span<long> row = [f.CpuMillicores, f.MemoryBytes, f.DiskBytes, f.Gpus, state.FreePortCount(bins[b])];
            row.CopyTo(free.AsSpan(b * PackingSearch.Dims));
            pinned[b] = Used(state, bins[b]);
        }
        var groups = new Dictionary<ServiceSpec, int>(ReferenceEqualityComparer.Instance);
        var contexts = new List<PlacementContext>();
        var allowed = new List<bool[]>();
        var group = new int[items.Length];
        for (var n = 0; n < items.Length; n++)
        {
            var spec = specs[items[n]];
            if (!groups.TryGetValue(spec, out var g))
            {
                groups[spec] = g = contexts.Count;
                var context = pipeline.CreateContext(state, spec);
                contexts.Add(context);
                var ok = new bool[bins.Length];
                foreach (var i in context.StaticNodes)
                    if (binOfNode.TryGetValue(i, out var b)) ok[b] = true;
                allowed.Add(ok);
            }
            group[n] = g;
        }
        foreach (var k in items) state.ReserveResources(nodes[k], specs[k], specs[k].Ports.Count);

        var scale = BatchPlacer.Scale(state);
        var demand = new long[items.Length * PackingSearch.Dims];
        var weight = new double[items.Length];
        var start = new int[items.Length];
        for (var n = 0; n < items.Length; n++)
        {
            var spec = specs[items[n]];
            var r = spec.Resources;
            Span<long> row = [r.CpuMillicores, r.MemoryBytes, r.DiskBytes, r.Gpus, spec.Ports.Count];
            row.CopyTo(demand.AsSpan(n * PackingSearch.Dims));
            // Pending weight: the dominant share, which ranks a CPU-heavy and a memory-heavy item alike (measured
            // better than the sum of shares, or its square, on the anti-correlated sets).
            weight[n] = Math.Max(Math.Max(r.CpuMillicores / scale.Cpu, r.MemoryBytes / scale.Memory), Math.Max(r.DiskBytes / scale.Disk, r.Gpus / scale.Gpus));
            start[n] = binOfNode[nodes[items[n]]];
        }
        double[] inverse = [1 / scale.Cpu, 1 / scale.Memory, 1 / scale.Disk, 1 / scale.Gpus, 0];
        var search = new PackingSearch(demand, free, weight, inverse, group, [.. allowed], pinned, start, seed, expired);
        search.Run(maxSteps, constructions);
        if (search.Freed == 0) return 0;
        return Apply(pipeline, state, specs, nodes, items, bins, search.Best, [.. group.Select(g => contexts[g])], usedBefore);
    }

    private static int Apply(PlacementPipeline pipeline, ClusterState state, IReadOnlyList<ServiceSpec> specs, int[] nodes, int[] items, int[] bins,
        int[] best, PlacementContext[] context, int usedBefore)
    {
        var before = nodes.ToArray();
        var moved = new List<int>();
        for (var n = 0; n < items.Length; n++)
        {
            var k = items[n];
            if (bins[best[n]] == nodes[k]) continue;
            state.ReleaseResources(nodes[k], specs[k], specs[k].Ports.Count);
            nodes[k] = bins[best[n]];
            moved.Add(n);
        }
        foreach (var n in moved) state.ReserveResources(nodes[items[n]], specs[items[n]], specs[items[n]].Ports.Count);
        var valid = true;
        foreach (var n in moved)
        {
            var k = items[n];
            state.ReleaseResources(nodes[k], specs[k], specs[k].Ports.Count);
            valid &= pipeline.IsFeasible(context[n], nodes[k]);
            state.ReserveResources(nodes[k], specs[k], specs[k].Ports.Count);
            if (!valid) break;
        }
        var usedAfter = Enumerable.Range(0, state.Count).Count(i => Used(state, i));
        if (valid && usedAfter < usedBefore) return usedBefore - usedAfter;
        // Undo: back to the caller's layout.
        foreach (var n in moved) state.ReleaseResources(nodes[items[n]], specs[items[n]], specs[items[n]].Ports.Count);
        foreach (var n in moved)
        {
            var k = items[n];
            nodes[k] = before[k];
            state.ReserveResources(nodes[k], specs[k], specs[k].Ports.Count);
        }
        return 0;
    }

    private static bool Used(ClusterState state, int i)
    {
        var a = state.Allocated(i);
        return a.CpuMillicores > 0 || a.MemoryBytes > 0 || a.DiskBytes > 0 || a.Gpus > 0;
    }
}
