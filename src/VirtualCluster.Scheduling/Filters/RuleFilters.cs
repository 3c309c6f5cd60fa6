namespace VirtualCluster.Scheduling;

/// <summary>Required anti-affinity: a node that already runs a replica of the service cannot take another.</summary>
public sealed class AntiAffinityFilter : IPlacementFilter
{
    /// <inheritdoc />
    public string Name => FilterNames.AntiAffinity;

    /// <inheritdoc />
    public bool IsStatic => false;

    /// <inheritdoc />
    public bool AppliesTo(PlacementContext context) =>
        context.Spec.Placement.AntiAffinity == AntiAffinityMode.Required && context.ServiceTotal > 0;

    /// <inheritdoc />
    public int Filter(PlacementContext context, Span<int> nodes)
    {
        var counts = context.Cluster.ServiceCounts(context.Spec.Name);
        if (counts.Length == 0) return nodes.Length;
        var kept = 0;
        for (var k = 0; k < nodes.Length; k++)
        {
            var i = Unchecked.At(nodes, k);
            if (Unchecked.At(counts, i) == 0) Unchecked.At(nodes, kept++) = i;
        }
        return kept;
    }

    /// <inheritdoc />
    public void Explain(PlacementContext context, int node, List<string> reasons)
    {
        if (context.ServiceCount(node) > 0) reasons.Add("anti-affinity (already runs " + context.Spec.Name + ")");
    }
}

/// <summary>
/// Topology spread (Kubernetes' PodTopologySpread with DoNotSchedule): for each <see cref="TopologySpread"/> of the
/// spec, the node must have the label, and after placing one more replica in its domain (label value) that domain
/// may hold at most <c>maxSkew</c> more replicas than the emptiest domain. Domains are the label values found on
/// nodes that pass the static filters, so a zone the service may not use does not hold the others back.
/// </summary>
public sealed class TopologySpreadFilter : IPlacementFilter
{
    private static readonly object MinDomainsKey = new();

    /// <inheritdoc />
    public string Name => FilterNames.TopologySpread;

    /// <inheritdoc />
    public bool IsStatic => false;

    /// <inheritdoc />
    public bool AppliesTo(PlacementContext context) => context.Spec.Placement.TopologySpread.Count > 0;

    /// <inheritdoc />
    public int Filter(PlacementContext context, Span<int> nodes)
    {
        var count = nodes.Length;
        foreach (var spread in context.Spec.Placement.TopologySpread)
        {
            var domains = context.Cluster.Domains(spread.Key);
            var counts = context.Cluster.DomainCounts(spread.Key, context.Spec.Name);
            var min = MinCount(context, spread.Key, counts);
            var kept = 0;
            for (var k = 0; k < count; k++)
            {
                var i = nodes[k];
                var d = domains.NodeDomain[i];
                if (d >= 0 && counts[d] + 1 - min <= spread.MaxSkew) nodes[kept++] = i;
            }
            count = kept;
        }
        return count;
    }

    /// <inheritdoc />
    public void Explain(PlacementContext context, int node, List<string> reasons)
    {
        foreach (var spread in context.Spec.Placement.TopologySpread)
        {
            var d = context.Cluster.Domains(spread.Key).NodeDomain[node];
            if (d < 0)
            {
                reasons.Add($"topology {spread.Key} (label missing)");
                continue;
            }
            var counts = context.Cluster.DomainCounts(spread.Key, context.Spec.Name);
            if (counts[d] + 1 - MinCount(context, spread.Key, counts) > spread.MaxSkew)
                reasons.Add($"topology {spread.Key} (maxSkew {spread.MaxSkew})");
        }
    }

    /// <summary>Fewest replicas in any domain that has a statically eligible node.</summary>
    internal static int MinCount(PlacementContext context, string key, int[] counts)
    {
        var eligible = context.GetOrCreateStatic(MinDomainsKey, static _ => new Dictionary<string, bool[]>(StringComparer.Ordinal));
        if (!eligible.TryGetValue(key, out var mask))
        {
            var nodeDomain = context.Cluster.Domains(key).NodeDomain;
            mask = new bool[counts.Length];
            foreach (var i in context.StaticNodes)
                if (nodeDomain[i] >= 0) mask[nodeDomain[i]] = true;
            eligible[key] = mask;
        }
        var min = int.MaxValue;
        for (var d = 0; d < counts.Length; d++)
            if (mask[d] && counts[d] < min) min = counts[d];
        return min == int.MaxValue ? 0 : min;
    }
}
