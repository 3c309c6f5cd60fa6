namespace VirtualCluster.Scheduling;

/// <summary>The per-placement inputs of the indexed search's bounds (<see cref="BoundInputs"/>).</summary>
public sealed partial class PlacementPipeline
{
    private static readonly object PreparedKey = new();

    /// <summary>
    /// What a spec asks of the built-in stages, worked out once per spec and state: which dynamic filters apply and
    /// the summed weight of each built-in scorer that applies. Only required and preferred anti-affinity depend on
    /// more than the spec (whether the service has replicas yet), so there are two variants.
    /// </summary>
    private sealed class PreparedSpec
    {
        public bool BuiltIn, Resources, SpreadFilter, AntiFilter;
        public int Ports;
        public double Most, Least, Balanced, Anti, Affinity, Spread;
        public IPlacementFilter[] Filters = [];
    }

    private sealed class PreparedPair
    {
        public PreparedSpec? Without, With;
    }

    /// <summary>Fills <paramref name="q"/> for this placement; false when a filter or scorer is not a built-in one.</summary>
    private bool Prepare(PlacementContext context, BoundInputs q)
    {
        if (!_allDynamicBuiltIn) return false;
        var total = context.ServiceTotal;
        var pair = context.GetOrCreateStatic(PreparedKey, static _ => new PreparedPair());
        var p = total > 0 ? pair.With ??= PrepareSpec(context) : pair.Without ??= PrepareSpec(context);
        if (!p.BuiltIn) return false;
        var d = context.Demand;
        q.Cpu = d.CpuMillicores;
        q.Memory = d.MemoryBytes;
        q.Disk = d.DiskBytes;
        q.Gpus = d.Gpus;
        q.Ports = p.Ports;
        q.Resources = p.Resources;
        q.SpreadFilter = p.SpreadFilter;
        q.Filters = p.Filters;
        q.ClipShares = q.Resources;
        q.Most = p.Most;
        q.Least = p.Least;
        q.Balanced = p.Balanced;
        q.Fused = AllocationKernel.Covers(context);
        q.SumWeight = 50 * (p.Most - p.Least);
        q.Constant = 100 * (p.Least + p.Balanced);
        q.DiffWeight = 50 * p.Balanced;
        q.Envelope = !q.Fused || !(q.DiffWeight > 0) ? 0 : q.SumWeight == 2 * q.DiffWeight ? 1 : q.SumWeight == -2 * q.DiffWeight ? -1 : 0;
        q.Dimensions = 2 + (q.Disk > 0 ? 1 : 0) + (q.Gpus > 0 ? 1 : 0);
        q.InvRootTwoDimensions = 1 / Math.Sqrt(2.0 * q.Dimensions);
        q.Rules = 100 * p.Anti;
        q.AntiWeight = p.Anti;
        var counts = p.Anti > 0 || p.AntiFilter ? context.Cluster.ServiceCounts(context.Spec.Name) : [];
        q.AntiCounts = p.Anti > 0 ? counts : [];
        q.AntiScale = 1.0 / (total + 1);
        q.AntiRequired = p.AntiFilter ? counts : null;
        q.Affinity = p.Affinity;
        PrepareSpread(context, q, p.Spread);
        return true;
    }

    private PreparedSpec PrepareSpec(PlacementContext context)
    {
        var p = new PreparedSpec { BuiltIn = true };
        var filters = new List<IPlacementFilter>();
        foreach (var filter in _dynamic)
        {
            if (!filter.AppliesTo(context)) continue;
            filters.Add(filter);
            if (filter is ResourceFilter) p.Resources = true;
            else if (filter is PortFilter) p.Ports = context.PortsNeeded;
            else if (filter is TopologySpreadFilter) p.SpreadFilter = true;
            else if (filter is AntiAffinityFilter) p.AntiFilter = true;
        }
        p.Filters = [.. filters];
        foreach (var ws in context.Strategy.Scorers)
        {
            var type = ws.Scorer.GetType();
            if (type == typeof(MostAllocatedScorer)) p.Most += ws.Weight;
            else if (type == typeof(LeastAllocatedScorer)) p.Least += ws.Weight;
            else if (type == typeof(BalancedAllocationScorer)) p.Balanced += ws.Weight;
            else if (type == typeof(ServiceAntiAffinityScorer)) p.Anti += ws.Scorer.AppliesTo(context) ? ws.Weight : 0;
            else if (type == typeof(NodeAffinityScorer)) p.Affinity += ws.Scorer.AppliesTo(context) ? ws.Weight : 0;
            else if (type == typeof(TopologySpreadScorer)) p.Spread += ws.Scorer.AppliesTo(context) ? ws.Weight : 0;
            else p.BuiltIn = false;
        }
        return p;
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
            q.NodeDomains = new int[spreads.Count][];
        }
        var perKey = weight * 100.0 / spreads.Count;
        for (var k = 0; k < spreads.Count; k++)
        {
            var spread = spreads[k];
            q.Spreads[k] = spread;
            var counts = context.Cluster.DomainCounts(spread.Key, context.Spec.Name);
            q.Counts[k] = counts;
            q.NodeDomains[k] = context.Cluster.Domains(spread.Key).NodeDomain;
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
}
