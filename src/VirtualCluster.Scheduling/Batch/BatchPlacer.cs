namespace VirtualCluster.Scheduling;

/// <summary>How a batch orders and packs its instances.</summary>
public enum BatchAlgorithm
{
    /// <summary>Largest instances first, each to the best-scoring node of the full pipeline (best-fit decreasing under binpack).</summary>
    Pipeline,

    /// <summary>Largest instances first, each to the first feasible node in name order (first-fit decreasing).</summary>
    FirstFitDecreasing,

    /// <summary>
    /// Node by node in name order, fill the node with the instance whose normalized demand vector has the largest dot
    /// product with the node's normalized free capacity (Panigrahy et al. 2011, "Heuristics for Vector Bin Packing").
    /// </summary>
    DotProduct,

    /// <summary>
    /// Runs the three others, keeps the one that uses the fewest nodes (ties: Pipeline, then FFD), then improves it
    /// within <see cref="BatchOptions.ImprovementBudget"/> by emptying nodes (see <see cref="BatchOptions"/>).
    /// </summary>
    Best,
}

/// <summary>Instances of one service in a batch.</summary>
public sealed record BatchItem(ServiceSpec Spec, int Count);

/// <summary>Result of a batch: every instance placed, or none and why.</summary>
/// <param name="Placements">Placements per service name, in the order they were made.</param>
/// <param name="Failure">Why an instance did not fit; nothing is placed then.</param>
/// <param name="NodesUsed">Nodes running at least one instance after the batch (including earlier work).</param>
/// <param name="Algorithm">The algorithm whose placement this is.</param>
public sealed record BatchResult(
    IReadOnlyDictionary<string, IReadOnlyList<Placement>> Placements,
    PlacementFailure? Failure,
    int NodesUsed,
    BatchAlgorithm Algorithm)
{
    /// <summary>True when every instance was placed.</summary>
    public bool Succeeded => Failure is null;

    /// <summary>Nodes the improvement phase emptied after the greedy packing (<see cref="BatchAlgorithm.Best"/> only).</summary>
    public int NodesFreed { get; init; }
}

/// <summary>
/// Places many instances, of one service or a whole set, at once. Every filter holds for every instance (resources,
/// ports, constraints, anti-affinity, topology spread); only the order and the choice of node differ by algorithm.
/// </summary>
/// <remarks>
/// Instance size for the decreasing order: Σ_d demand_d / mean capacity_d over CPU and memory (and disk and GPUs when
/// requested), so a memory-heavy and a CPU-heavy instance compare on the cluster's own scale. Equal sizes keep
/// service name order. All-or-nothing, like <see cref="IScheduler.Place"/>.
/// </remarks>
public static class BatchPlacer
{
    /// <summary>Places <paramref name="items"/> on <paramref name="nodes"/>.</summary>
    /// <exception cref="ArgumentException">Items are missing, repeat a service or ask for a negative count.</exception>
    public static BatchResult Place(PipelineScheduler scheduler, IReadOnlyList<NodeCandidate> nodes, IReadOnlyList<BatchItem> items,
        BatchAlgorithm algorithm = BatchAlgorithm.Best, BatchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(nodes);
        return Place(scheduler, scheduler.CreateState(nodes), items, algorithm, options);
    }

    /// <summary>
    /// Places <paramref name="items"/> on a kept <paramref name="state"/>; on success the state keeps the
    /// reservations (with their ports), on failure it is left as it was.
    /// </summary>
    /// <exception cref="ArgumentException">Items are missing, repeat a service or ask for a negative count; or the options are invalid.</exception>
    public static BatchResult Place(PipelineScheduler scheduler, ClusterState state, IReadOnlyList<BatchItem> items, BatchAlgorithm algorithm,
        BatchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(state);
        Validate(items);
        options ??= new BatchOptions();
        var errors = options.Validate();
        if (errors.Count > 0) throw new ArgumentException("invalid batch options: " + string.Join(" ", errors), nameof(options));
        if (algorithm != BatchAlgorithm.Best) return Greedy(scheduler, state, items, algorithm, out _);
        return Best(scheduler, state, items, options);
    }

    private static BatchResult Best(PipelineScheduler scheduler, ClusterState state, IReadOnlyList<BatchItem> items, BatchOptions options)
    {
        BatchResult? best = null;
        List<(ServiceSpec Spec, int Node, Placement Placement)>? bestMade = null;
        foreach (var candidate in new[] { BatchAlgorithm.Pipeline, BatchAlgorithm.FirstFitDecreasing, BatchAlgorithm.DotProduct })
        {
            var result = Greedy(scheduler, state, items, candidate, out var made);
            if (result.Succeeded)
                foreach (var (spec, node, placement) in made) state.Release(node, spec, placement.Ports.Values);
            if (best is null || (result.Succeeded && (!best.Succeeded || result.NodesUsed < best.NodesUsed))) (best, bestMade) = (result, made);
        }
        if (!best!.Succeeded) return best;
        // Re-apply the best packing as bare reservations, improve it, then hand out ports in the greedy order.
        var specs = bestMade!.Select(m => m.Spec).ToList();
        var nodes = bestMade!.Select(m => m.Node).ToArray();
        for (var k = 0; k < nodes.Length; k++) state.ReserveResources(nodes[k], specs[k], specs[k].Ports.Count);
        var freed = 0;
        if (options.ImprovementBudget > TimeSpan.Zero)
        {
            var time = options.TimeProvider;
            var deadline = time.GetTimestamp() + (long)(options.ImprovementBudget.TotalSeconds * time.TimestampFrequency);
            // The search on arrays first (most of the gain); the filter-driven moves after it, in what is left of the
            // budget, for the instances the search leaves in place (required anti-affinity, custom filters).
            freed = LayoutSearch.Improve(scheduler.Pipeline, state, specs, nodes, options.Seed, () => time.GetTimestamp() >= deadline);
            var left = TimeSpan.FromSeconds((double)(deadline - time.GetTimestamp()) / time.TimestampFrequency);
            if (left > TimeSpan.Zero) freed += new BatchImprover(scheduler.Pipeline, state, time, left).Improve(specs, nodes);
        }
        for (var k = 0; k < nodes.Length; k++) state.ReleaseResources(nodes[k], specs[k], specs[k].Ports.Count);
        var placements = new List<(ServiceSpec Spec, Placement Placement)>(nodes.Length);
        for (var k = 0; k < nodes.Length; k++)
        {
            var ports = state.Reserve(nodes[k], specs[k]);
            var score = nodes[k] == bestMade![k].Node ? bestMade[k].Placement.Score : 0;
            placements.Add((specs[k], new Placement(state.Node(nodes[k]).Id, ports, score)));
        }
        var byService = placements.GroupBy(m => m.Spec.Name, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<Placement>)[.. g.Select(m => m.Placement)], StringComparer.Ordinal);
        return new BatchResult(byService, null, NodesUsed(state), best.Algorithm) { NodesFreed = freed };
    }

    private static BatchResult Greedy(PipelineScheduler scheduler, ClusterState state, IReadOnlyList<BatchItem> items, BatchAlgorithm algorithm,
        out List<(ServiceSpec Spec, int Node, Placement Placement)> made)
    {
        var pipeline = scheduler.Pipeline;
        var contexts = items.Where(i => i.Count > 0).ToDictionary(i => i.Spec.Name, i => pipeline.CreateContext(state, i.Spec), StringComparer.Ordinal);
        made = [];
        PlacementFailure? failure = algorithm == BatchAlgorithm.DotProduct
            ? DotProduct(pipeline, state, items, contexts, made)
            : Decreasing(scheduler, state, items, contexts, made, algorithm == BatchAlgorithm.Pipeline);
        if (failure is not null)
        {
            foreach (var (spec, node, placement) in made) state.Release(node, spec, placement.Ports.Values);
            return new BatchResult(new Dictionary<string, IReadOnlyList<Placement>>(), failure, NodesUsed(state), algorithm);
        }
        var byService = made.GroupBy(m => m.Spec.Name, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<Placement>)[.. g.Select(m => m.Placement)], StringComparer.Ordinal);
        return new BatchResult(byService, null, NodesUsed(state), algorithm);
    }

    /// <summary>Nodes with any reservation.</summary>
    public static int NodesUsed(ClusterState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var used = 0;
        for (var i = 0; i < state.Count; i++)
        {
            var a = state.Allocated(i);
            if (a.CpuMillicores > 0 || a.MemoryBytes > 0 || a.DiskBytes > 0 || a.Gpus > 0) used++;
        }
        return used;
    }

    private static PlacementFailure? Decreasing(PipelineScheduler scheduler, ClusterState state, IReadOnlyList<BatchItem> items,
        Dictionary<string, PlacementContext> contexts, List<(ServiceSpec, int, Placement)> made, bool scored)
    {
        var pipeline = scheduler.Pipeline;
        var scale = Scale(state);
        var order = items.Where(i => i.Count > 0)
            .OrderByDescending(i => Size(i.Spec.Resources, scale)).ThenBy(i => i.Spec.Name, StringComparer.Ordinal).ToList();
        foreach (var item in order)
        {
            var context = contexts[item.Spec.Name];
            // First fit resumes where the previous instance of the service went: reservations only grow during a
            // batch, so a node that could not take it before cannot now. Topology spread is the exception (the
            // emptiest domain can fill up and let others in again), and so may custom filters: those search from the start.
            var from = 0;
            var resume = item.Spec.Placement.TopologySpread.Count == 0 && pipeline.DynamicFiltersAreBuiltIn;
            for (var n = 0; n < item.Count; n++)
            {
                double score = 0;
                var node = -1;
                var found = scored ? pipeline.TrySelect(context, out node, out score) : FirstFit(pipeline, context, resume ? from : 0, out node);
                if (!found) return pipeline.ExplainFailure(context, item.Count, n);
                from = node;
                var ports = state.Reserve(node, item.Spec);
                made.Add((item.Spec, node, new Placement(state.Node(node).Id, ports, Math.Round(score, 2))));
            }
        }
        return null;
    }

    private static bool FirstFit(PlacementPipeline pipeline, PlacementContext context, int from, out int node)
    {
        var nodes = context.StaticNodes;
        var start = nodes.BinarySearch(from);
        for (var k = start < 0 ? ~start : start; k < nodes.Length; k++)
        {
            if (!pipeline.IsFeasible(context, nodes[k])) continue;
            node = nodes[k];
            return true;
        }
        node = -1;
        return false;
    }

    private static PlacementFailure? DotProduct(PlacementPipeline pipeline, ClusterState state, IReadOnlyList<BatchItem> items,
        Dictionary<string, PlacementContext> contexts, List<(ServiceSpec, int, Placement)> made)
    {
        var remaining = items.Where(i => i.Count > 0).ToDictionary(i => i.Spec.Name, i => i.Count, StringComparer.Ordinal);
        var active = items.Where(i => i.Count > 0).Select(i => i.Spec).OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
        for (var node = 0; node < state.Count && active.Count > 0; node++)
        {
            while (active.Count > 0)
            {
                var best = -1;
                var bestDot = double.NegativeInfinity;
                var free = state.Free(node);
                var cap = state.Capacity(node);
                for (var k = 0; k < active.Count; k++)
                {
                    var spec = active[k];
                    // Cheap checks first; the full filter chain only for a candidate that would win.
                    if (!state.Fits(node, spec.Resources, spec.Ports.Count)) continue;
                    var dot = Dot(spec.Resources, free, cap);
                    if (dot > bestDot && pipeline.IsFeasible(contexts[spec.Name], node)) (best, bestDot) = (k, dot);
                }
                if (best < 0) break;
                var chosen = active[best];
                var ports = state.Reserve(node, chosen);
                made.Add((chosen, node, new Placement(state.Node(node).Id, ports, 0)));
                if (--remaining[chosen.Name] == 0)
                {
                    remaining.Remove(chosen.Name);
                    active.RemoveAt(best);
                }
            }
        }
        if (remaining.Count == 0) return null;
        var (name, left) = remaining.OrderBy(r => r.Key, StringComparer.Ordinal).First();
        var count = items.First(i => i.Spec.Name == name).Count;
        return pipeline.ExplainFailure(contexts[name], count, count - left);
    }

    /// <summary>Σ_d (demand_d / capacity_d) × (free_d / capacity_d) over the dimensions the node has.</summary>
    private static double Dot(Resources demand, Resources free, Resources cap)
    {
        static double Term(long need, long have, long capacity) =>
            capacity <= 0 ? 0 : (double)need / capacity * Math.Max(0, have) / capacity;
        return Term(demand.CpuMillicores, free.CpuMillicores, cap.CpuMillicores)
            + Term(demand.MemoryBytes, free.MemoryBytes, cap.MemoryBytes)
            + Term(demand.DiskBytes, free.DiskBytes, cap.DiskBytes)
            + Term(demand.Gpus, free.Gpus, cap.Gpus);
    }

    internal static (double Cpu, double Memory, double Disk, double Gpus) Scale(ClusterState state)
    {
        double cpu = 0, memory = 0, disk = 0, gpus = 0;
        for (var i = 0; i < state.Count; i++)
        {
            var c = state.Capacity(i);
            cpu += c.CpuMillicores;
            memory += c.MemoryBytes;
            disk += c.DiskBytes;
            gpus += c.Gpus;
        }
        var n = Math.Max(1, state.Count);
        return (Math.Max(1, cpu / n), Math.Max(1, memory / n), Math.Max(1, disk / n), Math.Max(1, gpus / n));
    }

    internal static double Size(Resources r, (double Cpu, double Memory, double Disk, double Gpus) scale) =>
        r.CpuMillicores / scale.Cpu + r.MemoryBytes / scale.Memory + r.DiskBytes / scale.Disk + r.Gpus / scale.Gpus;

    private static void Validate(IReadOnlyList<BatchItem> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            if (item?.Spec is null) throw new ArgumentException("a batch item or its spec is null", nameof(items));
            if (item.Count < 0) throw new ArgumentException($"\"{item.Spec.Name}\" asks for {item.Count} instances; counts must not be negative", nameof(items));
            if (!names.Add(item.Spec.Name)) throw new ArgumentException($"\"{item.Spec.Name}\" appears twice; give one item per service", nameof(items));
        }
    }
}
