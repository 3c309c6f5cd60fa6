namespace VirtualCluster.Scheduling;

/// <summary>
/// One feasibility stage of the placement pipeline (Kubernetes' Filter, Nomad's feasibility checkers).
/// Implementations are stateless and cheap: <see cref="Filter"/> runs over every remaining node on every placement.
/// </summary>
public interface IPlacementFilter
{
    /// <summary>Name shown in explanations (see <see cref="FilterNames"/> for the built-ins).</summary>
    string Name { get; }

    /// <summary>
    /// True when the outcome depends only on the node's registration and the spec (state, drivers, labels),
    /// never on reservations. Static filters run once per spec and cluster state; their result is cached.
    /// </summary>
    bool IsStatic { get; }

    /// <summary>False when the spec asks nothing of this filter (no ports, no anti-affinity...), so it is skipped.</summary>
    bool AppliesTo(PlacementContext context);

    /// <summary>
    /// Keeps the nodes that pass: moves their indexes to the front of <paramref name="nodes"/>, in their original
    /// order, and returns how many there are.
    /// </summary>
    int Filter(PlacementContext context, Span<int> nodes);

    /// <summary>Adds to <paramref name="reasons"/> each dimension the node lacks ("memory", "constraint zone=eu"); adds nothing when it passes.</summary>
    void Explain(PlacementContext context, int node, List<string> reasons);
}

/// <summary>
/// One scoring stage (Kubernetes' Score plugins, Nomad's rank iterators). A scorer gives each feasible node a score
/// from 0 to 100, higher is better; the pipeline combines scorers as a weighted mean (see <see cref="PlacementPipeline"/>).
/// </summary>
public interface IScorer
{
    /// <summary>Name shown in explanations (see <see cref="ScorerNames"/> for the built-ins).</summary>
    string Name { get; }

    /// <summary>False when the score would be the same for every node (nothing to prefer), so it is left out of the mean.</summary>
    bool AppliesTo(PlacementContext context);

    /// <summary>Adds <paramref name="weight"/> × score(nodes[k]) to <paramref name="totals"/>[k] for every k; score is within 0..100.</summary>
    void Score(PlacementContext context, ReadOnlySpan<int> nodes, double weight, Span<double> totals);
}

/// <summary>A scorer with its weight in a strategy's weighted mean; weights must be positive.</summary>
public sealed record WeightedScorer(IScorer Scorer, double Weight);

/// <summary>A named set of weighted scorers, chosen per service by <see cref="PlacementSpec.Strategy"/>.</summary>
public interface IPlacementStrategy
{
    /// <summary>Name a spec refers to (see <see cref="StrategyNames"/>).</summary>
    string Name { get; }

    /// <summary>Scorers and their weights.</summary>
    IReadOnlyList<WeightedScorer> Scorers { get; }
}

/// <summary>A strategy built from a list of weighted scorers.</summary>
/// <param name="Name">Strategy name.</param>
/// <param name="Scorers">Scorers and weights.</param>
public sealed record PlacementStrategy(string Name, IReadOnlyList<WeightedScorer> Scorers) : IPlacementStrategy;

/// <summary>Names of the built-in filters, in pipeline order.</summary>
public static class FilterNames
{
    /// <summary>Only Alive nodes take new work.</summary>
    public const string NodeState = "node-state";
    /// <summary>The node runs the spec's driver.</summary>
    public const string Driver = "driver";
    /// <summary>Label equality and existence constraints.</summary>
    public const string Constraints = "constraints";
    /// <summary>CPU, memory, disk and GPUs fit.</summary>
    public const string Resources = "resources";
    /// <summary>Enough free host ports.</summary>
    public const string Ports = "ports";
    /// <summary>Required anti-affinity: no replica of the service on the node yet.</summary>
    public const string AntiAffinity = "anti-affinity";
    /// <summary>Topology spread: the node has the label and its domain stays within maxSkew.</summary>
    public const string TopologySpread = "topology-spread";
}

/// <summary>Names of the built-in scorers.</summary>
public static class ScorerNames
{
    /// <summary>Fuller nodes score higher (bin packing).</summary>
    public const string MostAllocated = "most-allocated";
    /// <summary>Emptier nodes score higher (spreading).</summary>
    public const string LeastAllocated = "least-allocated";
    /// <summary>Nodes whose dimensions are used evenly score higher.</summary>
    public const string Balanced = "balanced";
    /// <summary>Nodes with fewer replicas of the service score higher.</summary>
    public const string AntiAffinity = "anti-affinity";
    /// <summary>Weighted label preferences of the spec.</summary>
    public const string NodeAffinity = "node-affinity";
    /// <summary>Domains (label values) with fewer replicas score higher.</summary>
    public const string TopologySpread = "topology-spread";
}

/// <summary>Names of the built-in strategies; the spec's <see cref="PlacementSpec.Strategy"/> picks one.</summary>
public static class StrategyNames
{
    /// <summary>Most-allocated first (see <see cref="PlacementStrategyNames.BinPack"/>).</summary>
    public const string BinPack = PlacementStrategyNames.BinPack;
    /// <summary>Least-allocated first (see <see cref="PlacementStrategyNames.Spread"/>).</summary>
    public const string Spread = PlacementStrategyNames.Spread;
}
