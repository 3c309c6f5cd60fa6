namespace VirtualCluster.Scheduling;

/// <summary>
/// The placement pipeline, assembled in one place (after Nomad's feasible/stack.go): static filters (node state,
/// driver, constraints; cached per spec) → dynamic filters (resources, ports, anti-affinity, topology spread) →
/// the strategy's scorers → normalization → selection of the best node.
/// </summary>
/// <remarks>
/// <para>Normalization: final(node) = Σ wᵢ·scoreᵢ(node) / Σ wᵢ over the strategy's scorers that apply to the spec
/// (<see cref="IScorer.AppliesTo"/>); each scoreᵢ is within 0..100, so the final score is too.</para>
/// <para>Selection: the highest final score; equal scores go to the node that sorts first by name, then id, so the
/// same input always gives the same answer regardless of input order.</para>
/// <para>Cost per placement: one pass per dynamic filter and per applicable scorer over the remaining nodes,
/// without allocation; static filters run once per spec and cluster state.</para>
/// </remarks>
public sealed partial class PlacementPipeline
{
    private readonly IPlacementFilter[] _static;
    private readonly IPlacementFilter[] _dynamic;
    private readonly bool[] _dynamicIsOurs;
    private readonly bool _allDynamicBuiltIn;
    // True when every static filter is a built-in one, which reads only the spec's driver and label constraints:
    // specs alike in those share one static pass (a failover places hundreds of services, each a spec of its own).
    private readonly bool _staticByShape;
    private readonly Dictionary<string, IPlacementStrategy> _strategies;

    /// <summary>Assembles a pipeline. Static filters always run before dynamic ones; otherwise order is kept.</summary>
    /// <exception cref="ArgumentException">No strategy, a duplicate strategy name, or a weight that is not positive.</exception>
    public PlacementPipeline(IReadOnlyList<IPlacementFilter> filters, IReadOnlyList<IPlacementStrategy> strategies)
    {
        ArgumentNullException.ThrowIfNull(filters);
        ArgumentNullException.ThrowIfNull(strategies);
        if (filters.Any(f => f is null)) throw new ArgumentException("a filter is null", nameof(filters));
        _static = [.. filters.Where(f => f.IsStatic)];
        _dynamic = [.. filters.Where(f => !f.IsStatic)];
        _dynamicIsOurs = [.. _dynamic.Select(f => f.GetType().Assembly == typeof(PlacementPipeline).Assembly)];
        _allDynamicBuiltIn = _dynamicIsOurs.All(b => b);
        _staticByShape = _static.All(f => f is NodeStateFilter or DriverFilter or LabelConstraintFilter);
        if (strategies.Count == 0) throw new ArgumentException("at least one strategy is needed", nameof(strategies));
        _strategies = new Dictionary<string, IPlacementStrategy>(StringComparer.Ordinal);
        foreach (var strategy in strategies)
        {
            ArgumentNullException.ThrowIfNull(strategy);
            if (!_strategies.TryAdd(strategy.Name, strategy))
                throw new ArgumentException($"strategy \"{strategy.Name}\" is registered twice", nameof(strategies));
            foreach (var ws in strategy.Scorers)
                if (ws.Scorer is null || !(ws.Weight > 0) || double.IsInfinity(ws.Weight))
                    throw new ArgumentException($"strategy \"{strategy.Name}\": every scorer needs a finite positive weight", nameof(strategies));
        }
    }

    /// <summary>The built-in filters and the "binpack" and "spread" strategies.</summary>
    public static PlacementPipeline Default { get; } = new(BuiltInFilters(), BuiltInStrategies());

    /// <summary>True when every dynamic filter is a built-in one, whose verdicts only turn from pass to fail as reservations grow (topology spread aside).</summary>
    internal bool DynamicFiltersAreBuiltIn => _allDynamicBuiltIn;

    /// <summary>Filters in pipeline order.</summary>
    public IReadOnlyList<IPlacementFilter> Filters => [.. _static, .. _dynamic];

    /// <summary>Registered strategies by name.</summary>
    public IReadOnlyCollection<IPlacementStrategy> Strategies => _strategies.Values;

    /// <summary>New instances of the built-in filters, in pipeline order.</summary>
    public static IReadOnlyList<IPlacementFilter> BuiltInFilters() =>
    [
        new NodeStateFilter(), new DriverFilter(), new LabelConstraintFilter(),
        new ResourceFilter(), new PortFilter(), new AntiAffinityFilter(), new TopologySpreadFilter(),
    ];

    /// <summary>
    /// The built-in strategies. binpack: most-allocated ×2, balanced ×1, anti-affinity ×1, node-affinity ×2,
    /// topology-spread ×2. spread: the same with least-allocated in place of most-allocated.
    /// </summary>
    public static IReadOnlyList<IPlacementStrategy> BuiltInStrategies()
    {
        var balanced = new WeightedScorer(new BalancedAllocationScorer(), 1);
        var anti = new WeightedScorer(new ServiceAntiAffinityScorer(), 1);
        var affinity = new WeightedScorer(new NodeAffinityScorer(), 2);
        var topology = new WeightedScorer(new TopologySpreadScorer(), 2);
        return
        [
            new PlacementStrategy(StrategyNames.BinPack, [new(new MostAllocatedScorer(), 2), balanced, anti, affinity, topology]),
            new PlacementStrategy(StrategyNames.Spread, [new(new LeastAllocatedScorer(), 2), balanced, anti, affinity, topology]),
        ];
    }

    /// <summary>The strategy with this name.</summary>
    /// <exception cref="ArgumentException">No strategy has that name; the message lists the known ones.</exception>
    public IPlacementStrategy GetStrategy(string name) =>
        _strategies.TryGetValue(name, out var strategy)
            ? strategy
            : throw new ArgumentException(
                $"unknown placement strategy \"{name}\"; known: {string.Join(", ", _strategies.Keys.Order(StringComparer.Ordinal))}", nameof(name));

    /// <summary>Prepares the placement of <paramref name="spec"/> on <paramref name="cluster"/>; static filters run here, once per spec.</summary>
    public PlacementContext CreateContext(ClusterState cluster, ServiceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(spec);
        var demand = spec.Resources;
        if (demand.CpuMillicores < 0 || demand.MemoryBytes < 0 || demand.DiskBytes < 0 || demand.Gpus < 0 || spec.Placement is null)
            throw new ArgumentException($"spec \"{spec.Name}\" requests negative resources or has no placement section; parse it with ServiceSpecParser", nameof(spec));
        var strategy = GetStrategy(spec.Placement.Strategy);
        if (!cluster.StaticCache.TryGetValue((this, spec), out var entry))
        {
            entry = RunStatic(cluster, spec, strategy);
            cluster.StaticCache[(this, spec)] = entry;
        }
        return new PlacementContext(cluster, spec, strategy, entry);
    }

    private StaticEntry RunStatic(ClusterState cluster, ServiceSpec spec, IPlacementStrategy strategy)
    {
        if (!_staticByShape) return new StaticEntry(FilterStatic(cluster, spec, strategy));
        var shape = StaticShape(spec);
        if (!cluster.StaticShapes.TryGetValue((this, shape), out var result))
            cluster.StaticShapes[(this, shape)] = result = FilterStatic(cluster, spec, strategy);
        return new StaticEntry(result);
    }

    /// <summary>What the built-in static filters read of a spec: its driver and its label constraints, in a canonical order.</summary>
    private static string StaticShape(ServiceSpec spec)
    {
        var placement = spec.Placement;
        if (placement.Constraints.Count == 0 && placement.LabelExists.Count == 0) return spec.Driver;
        var shape = new System.Text.StringBuilder(spec.Driver);
        foreach (var (key, value) in placement.Constraints.OrderBy(c => c.Key, StringComparer.Ordinal))
            shape.Append('\0').Append(key).Append('=').Append(value);
        shape.Append('\u0001');
        foreach (var (key, exists) in placement.LabelExists.OrderBy(c => c.Key, StringComparer.Ordinal))
            shape.Append('\0').Append(key).Append(exists ? "+" : "-");
        return shape.ToString();
    }

    private StaticResult FilterStatic(ClusterState cluster, ServiceSpec spec, IPlacementStrategy strategy)
    {
        var nodes = new int[cluster.Count];
        for (var i = 0; i < nodes.Length; i++) nodes[i] = i;
        var count = nodes.Length;
        var removed = new List<(IPlacementFilter, int)>();
        var probe = new PlacementContext(cluster, spec, strategy, new StaticEntry(new StaticResult([], [])));
        foreach (var filter in _static)
        {
            if (!filter.AppliesTo(probe)) continue;
            var kept = filter.Filter(probe, nodes.AsSpan(0, count));
            removed.Add((filter, count - kept));
            count = kept;
        }
        return new StaticResult(nodes[..count], removed);
    }

    /// <summary>
    /// Picks the best node for one more instance, or returns false when no node passes every filter.
    /// Reserves nothing: call <see cref="ClusterState.Reserve"/> with the result.
    /// </summary>
    /// <param name="context">From <see cref="CreateContext"/> on the current state.</param>
    /// <param name="node">Index of the chosen node, or -1.</param>
    /// <param name="score">Its final score, 0..100.</param>
    public bool TrySelect(PlacementContext context, out int node, out double score)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Cluster.SamplePercentage < 100 && TrySelectSampled(context, out node, out score, out var sampledFound)) return sampledFound;
        if (context.Cluster.IndexForSelection() is { } index
            && TrySelectIndexed(context, index, out node, out var total, out var indexedWeights, out var found))
        {
            score = found && indexedWeights > 0 ? total / indexedWeights : 0;
            return found;
        }
        var count = Feasible(context, out var buffer);
        node = -1;
        score = 0;
        if (count == 0) return false;
        var totals = context.Cluster.ScratchTotals.AsSpan(0, count);
        var weights = Score(context, buffer.AsSpan(0, count), totals);
        var best = 0;
        var bestValue = totals[0];
        for (var k = 1; k < totals.Length; k++)
        {
            var value = Unchecked.At(totals, k);
            if (value > bestValue)
            {
                best = k;
                bestValue = value;
            }
        }
        node = buffer[best];
        score = weights > 0 ? bestValue / weights : 0;
        return true;
    }

    /// <summary>True when the node passes every filter for one more instance of the context's spec now.</summary>
    public bool IsFeasible(PlacementContext context, int node)
    {
        ArgumentNullException.ThrowIfNull(context);
        if ((uint)node >= (uint)context.Cluster.Count || Array.BinarySearch(context.Entry.Nodes, node) < 0) return false;
        Span<int> one = [node];
        foreach (var filter in _dynamic)
            if (filter.AppliesTo(context) && filter.Filter(context, one) == 0) return false;
        return true;
    }

    /// <summary>First fit: the feasible node that sorts first (by name, then id), ignoring scores.</summary>
    public bool TryFirstFit(PlacementContext context, out int node)
    {
        ArgumentNullException.ThrowIfNull(context);
        var count = Feasible(context, out var buffer);
        node = count > 0 ? buffer[0] : -1;
        return count > 0;
    }

    /// <summary>Runs the dynamic filters; the feasible node indexes are the first (returned count) of <paramref name="buffer"/>.</summary>
    private int Feasible(PlacementContext context, out int[] buffer)
    {
        buffer = context.Cluster.ScratchNodes;
        var nodes = context.Entry.Nodes;
        nodes.CopyTo(buffer, 0);
        var count = nodes.Length;
        for (var f = 0; f < _dynamic.Length && count > 0; f++)
        {
            var filter = _dynamic[f];
            if (!filter.AppliesTo(context)) continue;
            var kept = filter.Filter(context, buffer.AsSpan(0, count));
            // Built-in stages read node arrays without bounds checks: indexes from other filters are checked first.
            if (!_dynamicIsOurs[f]) CheckIndexes(filter, buffer, kept, count, context.Cluster.Count);
            count = kept;
        }
        return count;
    }

    private static void CheckIndexes(IPlacementFilter filter, int[] buffer, int kept, int count, int nodes)
    {
        if (kept < 0 || kept > count)
            throw new InvalidOperationException($"filter \"{filter.Name}\" returned {kept} kept nodes out of {count}");
        for (var k = 0; k < kept; k++)
            if ((uint)buffer[k] >= (uint)nodes)
                throw new InvalidOperationException($"filter \"{filter.Name}\" wrote node index {buffer[k]}, outside 0..{nodes - 1}");
    }

    /// <summary>
    /// Fills <paramref name="totals"/> with Σ wᵢ·scoreᵢ and returns Σ wᵢ of the scorers that applied. The built-in
    /// allocation scorers share one pass (<see cref="AllocationKernel"/>) when the request has only CPU and memory.
    /// </summary>
    private static double Score(PlacementContext context, ReadOnlySpan<int> nodes, Span<double> totals)
    {
        totals.Clear();
        double weights = 0, most = 0, least = 0, balanced = 0;
        var fuse = AllocationKernel.Covers(context);
        foreach (var ws in context.Strategy.Scorers)
        {
            if (fuse && ws.Scorer.GetType() == typeof(MostAllocatedScorer)) most += ws.Weight;
            else if (fuse && ws.Scorer.GetType() == typeof(LeastAllocatedScorer)) least += ws.Weight;
            else if (fuse && ws.Scorer.GetType() == typeof(BalancedAllocationScorer)) balanced += ws.Weight;
            else if (ws.Scorer.AppliesTo(context)) ws.Scorer.Score(context, nodes, ws.Weight, totals);
            else continue;
            weights += ws.Weight;
        }
        if (most + least + balanced > 0) AllocationKernel.Score(context, nodes, most, least, balanced, totals);
        return weights;
    }

    /// <summary>One node's final score and each applicable scorer's own score (whether or not the node is feasible).</summary>
    public NodeScore ScoreNode(PlacementContext context, int node)
    {
        ArgumentNullException.ThrowIfNull(context);
        Span<int> one = [node];
        Span<double> value = [0];
        var byScorer = new Dictionary<string, double>(StringComparer.Ordinal);
        double total = 0, weights = 0;
        foreach (var ws in context.Strategy.Scorers)
        {
            if (!ws.Scorer.AppliesTo(context)) continue;
            value[0] = 0;
            ws.Scorer.Score(context, one, 1, value);
            // Scorers promise 0..100 on feasible nodes; an explanation may ask about others (e.g. a full node).
            var raw = Math.Clamp(value[0], 0, 100);
            byScorer[ws.Scorer.Name] = Math.Round(raw, 2);
            total += ws.Weight * raw;
            weights += ws.Weight;
        }
        var info = context.Cluster.Node(node);
        return new NodeScore(info.Id, info.Name, Math.Round(weights > 0 ? total / weights : 0, 2), byScorer);
    }

    /// <summary>The feasible nodes for one more instance, best first, at most <paramref name="top"/>.</summary>
    public IReadOnlyList<NodeScore> Rank(PlacementContext context, int top)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        var count = Feasible(context, out var buffer);
        if (count == 0) return [];
        var totals = new double[count];
        Score(context, buffer.AsSpan(0, count), totals);
        var order = new int[count];
        for (var k = 0; k < count; k++) order[k] = k;
        // Stable: equal totals keep node order (name, id), as selection does.
        var ranked = order.OrderByDescending(k => totals[k]).ThenBy(k => k).Take(top).Select(k => buffer[k]).ToList();
        return [.. ranked.Select(i => ScoreNode(context, i))];
    }
}
