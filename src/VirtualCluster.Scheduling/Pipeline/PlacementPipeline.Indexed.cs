namespace VirtualCluster.Scheduling;

public sealed partial class PlacementPipeline
{
    // Bounds are computed with other arithmetic than the scores; this margin covers the rounding (scores ≤ Σw·100).
    private const double BoundMargin = 1e-6;

    /// <summary>The full scan's choice, found through the state's index; false when the index cannot serve this request.</summary>
    private bool TrySelectIndexed(PlacementContext context, PlacementIndex index, out int node, out double total, out double weights, out bool found)
    {
        node = -1;
        total = 0;
        weights = 0;
        found = false;
        var q = index.Inputs;
        if (!Prepare(context, q)) return false;
        var view = index.View(context);
        var cluster = context.Cluster;
        var best = double.NegativeInfinity;
        var bestNode = int.MaxValue;
        Span<int> stackNodes = stackalloc int[128];
        Span<double> stackBounds = stackalloc double[128];
        Span<int> bucket = stackalloc int[PlacementIndex.BucketSize];
        Span<double> totals = stackalloc double[PlacementIndex.BucketSize];
        var top = 0;
        var rootBound = Bound(index, view, q, 1);
        if (rootBound == double.NegativeInfinity) return true;
        stackNodes[0] = 1;
        stackBounds[0] = rootBound;
        top = 1;
        while (top > 0)
        {
            top--;
            var t = stackNodes[top];
            if (stackBounds[top] < best - BoundMargin) continue;
            if (t >= index.LeafCount)
            {
                var (start, count) = index.Bucket(t - index.LeafCount);
                var kept = 0;
                for (var p = start; p < start + count; p++)
                {
                    var i = index.NodeAt(p);
                    if (view.StaticPass[i]) bucket[kept++] = i;
                }
                foreach (var filter in q.Filters)
                {
                    if (kept == 0) break;
                    kept = filter.Filter(context, bucket[..kept]);
                }
                if (kept == 0) continue;
                var scores = totals[..kept];
                weights = Score(context, bucket[..kept], scores);
                for (var k = 0; k < kept; k++)
                {
                    var value = scores[k];
                    var i = bucket[k];
                    if (value > best || (value == best && i < bestNode))
                    {
                        best = value;
                        bestNode = i;
                    }
                }
                found = true;
                continue;
            }
            int l = 2 * t, r = l + 1;
            double lb = Bound(index, view, q, l), rb = Bound(index, view, q, r);
            // Depth first, the child with the higher bound on top so it is explored first.
            if (lb >= rb)
            {
                if (rb != double.NegativeInfinity) Push(stackNodes, stackBounds, ref top, r, rb);
                if (lb != double.NegativeInfinity) Push(stackNodes, stackBounds, ref top, l, lb);
            }
            else
            {
                if (lb != double.NegativeInfinity) Push(stackNodes, stackBounds, ref top, l, lb);
                Push(stackNodes, stackBounds, ref top, r, rb);
            }
        }
        node = found ? bestNode : -1;
        total = found ? best : 0;
        _ = cluster;
        return true;
    }

    private static void Push(Span<int> nodes, Span<double> bounds, ref int top, int t, double bound)
    {
        nodes[top] = t;
        bounds[top] = bound;
        top++;
    }

    /// <summary>Fills <paramref name="q"/> for this placement; false when a filter or scorer is not a built-in one.</summary>
    private bool Prepare(PlacementContext context, BoundInputs q)
    {
        if (!DynamicFiltersAreBuiltIn) return false;
        var d = context.Demand;
        q.Cpu = d.CpuMillicores;
        q.Memory = d.MemoryBytes;
        q.Disk = d.DiskBytes;
        q.Gpus = d.Gpus;
        q.Ports = 0;
        q.Resources = false;
        q.SpreadFilter = false;
        q.Filters.Clear();
        foreach (var filter in _dynamic)
        {
            if (!filter.AppliesTo(context)) continue;
            q.Filters.Add(filter);
            if (filter is ResourceFilter) q.Resources = true;
            else if (filter is PortFilter) q.Ports = context.PortsNeeded;
            else if (filter is TopologySpreadFilter) q.SpreadFilter = true;
        }
        q.ClipShares = q.Resources;
        double most = 0, least = 0, balanced = 0, anti = 0, affinity = 0, spread = 0;
        foreach (var ws in context.Strategy.Scorers)
        {
            var type = ws.Scorer.GetType();
            if (type == typeof(MostAllocatedScorer)) most += ws.Weight;
            else if (type == typeof(LeastAllocatedScorer)) least += ws.Weight;
            else if (type == typeof(BalancedAllocationScorer)) balanced += ws.Weight;
            else if (type == typeof(ServiceAntiAffinityScorer)) anti += ws.Scorer.AppliesTo(context) ? ws.Weight : 0;
            else if (type == typeof(NodeAffinityScorer)) affinity += ws.Scorer.AppliesTo(context) ? ws.Weight : 0;
            else if (type == typeof(TopologySpreadScorer)) spread += ws.Scorer.AppliesTo(context) ? ws.Weight : 0;
            else return false;
        }
        q.Most = most;
        q.Least = least;
        q.Balanced = balanced;
        q.Fused = AllocationKernel.Covers(context);
        q.SumWeight = 50 * (most - least);
        q.Constant = 100 * (least + balanced);
        q.DiffWeight = 50 * balanced;
        q.Dimensions = 2 + (q.Disk > 0 ? 1 : 0) + (q.Gpus > 0 ? 1 : 0);
        q.Rules = 100 * anti;
        q.Affinity = affinity;
        PrepareSpread(context, q, spread);
        return true;
    }

    private static void PrepareSpread(PlacementContext context, BoundInputs q, double weight)
    {
        var spreads = context.Spec.Placement.TopologySpread;
        q.SpreadWeight = weight;
        if (spreads.Count == 0 || (weight == 0 && !q.SpreadFilter))
        {
            q.Spreads = [];
            return;
        }
        if (q.Spreads.Length != spreads.Count)
        {
            q.Spreads = new TopologySpread[spreads.Count];
            q.Counts = new int[spreads.Count][];
            q.DomainScore = new double[spreads.Count][];
            q.DomainOk = new bool[spreads.Count][];
            q.MixedScore = new double[spreads.Count];
        }
        var perKey = weight * 100.0 / spreads.Count;
        for (var k = 0; k < spreads.Count; k++)
        {
            var spread = spreads[k];
            q.Spreads[k] = spread;
            var counts = context.Cluster.DomainCounts(spread.Key, context.Spec.Name);
            q.Counts[k] = counts;
            if (q.DomainScore[k]?.Length != counts.Length)
            {
                q.DomainScore[k] = new double[counts.Length];
                q.DomainOk[k] = new bool[counts.Length];
            }
            var max = 0;
            foreach (var c in counts) max = Math.Max(max, c);
            double m = max + 1;
            var min = q.SpreadFilter ? TopologySpreadFilter.MinCount(context, spread.Key, counts) : 0;
            // Nodes without the label score 0 and pass no spread filter.
            var mixed = q.SpreadFilter ? double.NegativeInfinity : 0;
            for (var d = 0; d < counts.Length; d++)
            {
                q.DomainScore[k][d] = perKey * (m - counts[d]) / m;
                q.DomainOk[k][d] = !q.SpreadFilter || counts[d] + 1 - min <= spread.MaxSkew;
                if (q.DomainOk[k][d]) mixed = Math.Max(mixed, q.DomainScore[k][d]);
            }
            q.MixedScore[k] = mixed;
        }
    }

    /// <summary>An upper bound on Σ wᵢ·scoreᵢ over the nodes below tree node <paramref name="t"/> that pass every filter; −∞ when none can.</summary>
    private static double Bound(PlacementIndex index, PlacementIndex.SpecView view, BoundInputs q, int t)
    {
        if (!view.AnyStatic[t]) return double.NegativeInfinity;
        var maxFree = index.MaxFree;
        if (q.Resources && (maxFree[0][t] < q.Cpu || maxFree[1][t] < q.Memory || maxFree[2][t] < q.Disk || maxFree[3][t] < q.Gpus))
            return double.NegativeInfinity;
        if (q.Ports > 0 && index.MaxFreePorts[t] < q.Ports) return double.NegativeInfinity;
        var bound = q.Rules;
        if (q.Affinity > 0) bound += q.Affinity * view.AffinityMax![t];
        for (var k = 0; k < q.Spreads.Length; k++)
        {
            var u = view.Uniform[k][t];
            double part;
            if (u == PlacementIndex.Mixed) part = q.MixedScore[k];
            else if (u < 0) part = q.SpreadFilter ? double.NegativeInfinity : 0;
            else part = q.DomainOk[k][u] ? q.DomainScore[k][u] : double.NegativeInfinity;
            if (part == double.NegativeInfinity) return part;
            if (q.SpreadWeight > 0) bound += part;
        }
        Range(index, q, 0, t, q.Cpu, out var aLo, out var aHi);
        Range(index, q, 1, t, q.Memory, out var bLo, out var bHi);
        if (q.Fused) return bound + MaxOnBox(q.Constant, q.SumWeight, q.DiffWeight, aLo, aHi, bLo, bHi);
        double sumLo = aLo + bLo, sumHi = aHi + bHi;
        if (q.Disk > 0)
        {
            Range(index, q, 2, t, q.Disk, out var lo, out var hi);
            sumLo += lo;
            sumHi += hi;
        }
        if (q.Gpus > 0)
        {
            Range(index, q, 3, t, q.Gpus, out var lo, out var hi);
            sumLo += lo;
            sumHi += hi;
        }
        // Balanced: 100 × (1 − σ) ≤ 100.
        return bound + q.Most * 100 * sumHi / q.Dimensions + q.Least * 100 * (1 - sumLo / q.Dimensions) + q.Balanced * 100;
    }

    /// <summary>The range of share_d = (use_d + request_d) / capacity_d below tree node t.</summary>
    private static void Range(PlacementIndex index, BoundInputs q, int d, int t, long request, out double lo, out double hi)
    {
        lo = index.Lo[d][t] + request * index.LoInv[d][t];
        hi = index.Hi[d][t] + request * index.HiInv[d][t];
        // A node passing the resource filter has use + request ≤ capacity, so its share is at most 1.
        if (q.ClipShares && hi > 1) hi = 1;
        if (lo > hi) lo = hi;
    }

    /// <summary>
    /// The largest c + s(a + b) − w|a − b| over the box: the function is concave and linear on each side of a = b,
    /// so the maximum is at a corner or where the diagonal crosses the box.
    /// </summary>
    private static double MaxOnBox(double c, double s, double w, double aLo, double aHi, double bLo, double bHi)
    {
        static double F(double c, double s, double w, double a, double b) => c + s * (a + b) - w * Math.Abs(a - b);
        var best = Math.Max(Math.Max(F(c, s, w, aLo, bLo), F(c, s, w, aLo, bHi)), Math.Max(F(c, s, w, aHi, bLo), F(c, s, w, aHi, bHi)));
        double lo = Math.Max(aLo, bLo), hi = Math.Min(aHi, bHi);
        if (lo <= hi) best = Math.Max(best, Math.Max(F(c, s, w, lo, lo), F(c, s, w, hi, hi)));
        return best;
    }
}

/// <summary>
/// Per-placement inputs of the bound: the request, which built-in filters apply, and the weights of the
/// built-in scorers that apply. Null when a stage is not built in (its score cannot be bounded).
/// </summary>
internal sealed class BoundInputs
{
    public long Cpu, Memory, Disk, Gpus;
    public int Ports;
    public bool Resources, ClipShares, Fused;
    public double Constant, SumWeight, DiffWeight, Most, Least, Balanced, Rules, Affinity;
    public int Dimensions;
    public TopologySpread[] Spreads = [];
    public int[][] Counts = [];
    public double[][] DomainScore = [];
    public bool[][] DomainOk = [];
    public double[] MixedScore = [];
    public bool SpreadFilter;
    public double SpreadWeight;
    public readonly List<IPlacementFilter> Filters = [];
}
