namespace VirtualCluster.Scheduling;

/// <summary>
/// Preferred anti-affinity (Nomad's job anti-affinity): score = 100 × (1 − c / (T + 1)), where c is the number of
/// replicas of the service already on the node and T the number in the cluster. A node without a replica scores
/// 100; applies only when the mode is Preferred and the service has replicas placed.
/// </summary>
public sealed class ServiceAntiAffinityScorer : IScorer
{
    /// <inheritdoc />
    public string Name => ScorerNames.AntiAffinity;

    /// <inheritdoc />
    public bool AppliesTo(PlacementContext context) =>
        context.Spec.Placement.AntiAffinity == AntiAffinityMode.Preferred && context.ServiceTotal > 0;

    /// <inheritdoc />
    public void Score(PlacementContext context, ReadOnlySpan<int> nodes, double weight, Span<double> totals)
    {
        var counts = context.Cluster.ServiceCounts(context.Spec.Name);
        var scale = 1.0 / (context.ServiceTotal + 1);
        var w = weight * 100;
        if (counts.Length == 0)
        {
            for (var k = 0; k < nodes.Length; k++) Unchecked.At(totals, k) += w;
            return;
        }
        for (var k = 0; k < nodes.Length; k++)
            Unchecked.At(totals, k) += w * (1 - Unchecked.At(counts, Unchecked.Get(nodes, k)) * scale);
    }
}

/// <summary>
/// Weighted node affinity (Nomad's affinity): score = 100 × (M + N) / (P + N), where M is the sum of the weights of
/// the spec's affinities the node matches (negative weights subtract), P the sum of the positive weights and N the
/// sum of the absolute negative weights. So a node matching every positive and no negative preference scores 100,
/// one matching only the negative ones 0; with positive weights only, a node matching none scores 0. Node labels do
/// not change during a placement, so the scores are computed once per spec.
/// </summary>
public sealed class NodeAffinityScorer : IScorer
{
    private static readonly object CacheKey = new();

    /// <inheritdoc />
    public string Name => ScorerNames.NodeAffinity;

    /// <inheritdoc />
    public bool AppliesTo(PlacementContext context) => context.Spec.Placement.Affinity.Count > 0;

    /// <inheritdoc />
    public void Score(PlacementContext context, ReadOnlySpan<int> nodes, double weight, Span<double> totals)
    {
        var scores = context.GetOrCreateStatic(CacheKey, Compute);
        for (var k = 0; k < nodes.Length; k++) Unchecked.At(totals, k) += weight * Unchecked.At(scores, Unchecked.Get(nodes, k));
    }

    /// <summary>The formula for one node's labels.</summary>
    public static double ScoreOf(IReadOnlyDictionary<string, string> labels, IReadOnlyList<NodeAffinity> affinities)
    {
        double matched = 0, positive = 0, negative = 0;
        foreach (var a in affinities)
        {
            if (a.Weight > 0) positive += a.Weight;
            else negative -= a.Weight;
            if (labels.TryGetValue(a.Key, out var value) && value == a.Value) matched += a.Weight;
        }
        var range = positive + negative;
        return range == 0 ? 50 : 100 * (matched + negative) / range;
    }

    private static double[] Compute(PlacementContext context)
    {
        var s = context.Cluster;
        var scores = new double[s.Count];
        for (var i = 0; i < scores.Length; i++) scores[i] = ScoreOf(s.Node(i).Labels, context.Spec.Placement.Affinity);
        return scores;
    }
}

/// <summary>
/// Topology spread preference: for each spread key, score = 100 × (M − c_d) / M, where c_d is the number of replicas
/// in the node's domain and M = 1 + the largest c over domains; the result is the mean over keys. The emptiest
/// domains score highest. Nodes without the label score 0 (the filter removes them anyway).
/// </summary>
public sealed class TopologySpreadScorer : IScorer
{
    /// <inheritdoc />
    public string Name => ScorerNames.TopologySpread;

    /// <inheritdoc />
    public bool AppliesTo(PlacementContext context) => context.Spec.Placement.TopologySpread.Count > 0;

    /// <inheritdoc />
    public void Score(PlacementContext context, ReadOnlySpan<int> nodes, double weight, Span<double> totals)
    {
        var spreads = context.Spec.Placement.TopologySpread;
        var w = weight * 100.0 / spreads.Count;
        foreach (var spread in spreads)
        {
            var nodeDomain = context.Cluster.Domains(spread.Key).NodeDomain;
            var counts = context.Cluster.DomainCounts(spread.Key, context.Spec.Name);
            var max = 0;
            foreach (var c in counts) max = Math.Max(max, c);
            double m = max + 1;
            for (var k = 0; k < nodes.Length; k++)
            {
                var d = Unchecked.At(nodeDomain, Unchecked.Get(nodes, k));
                if (d >= 0) Unchecked.At(totals, k) += w * (m - counts[d]) / m;
            }
        }
    }
}
