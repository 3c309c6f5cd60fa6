namespace VirtualCluster.Scheduling.Tests;

/// <summary>Builders for pipeline tests: nodes with usage, GPUs, labels and running services.</summary>
internal static class PipelineKit
{
    public const long Gi = 1L << 30;
    public const long Mi = 1L << 20;

    public static NodeCandidate Node(
        string name, long cpu = 4000, long memory = 8 * Gi, long disk = 100 * Gi, int gpus = 0,
        Resources allocated = default, ResourceUsage usage = default, NodeState state = NodeState.Alive,
        string[]? drivers = null, int ports = 100, Dictionary<string, string>? labels = null, string[]? services = null) =>
        new(new NodeInfo("id-" + name, name, "10.0.0.1", new Resources(cpu, memory, disk, gpus), usage, drivers ?? ["process"],
                new PortRange(20000, 20000 + ports - 1), labels ?? [], state, null),
            allocated, new HashSet<int>(), services ?? []);

    public static ServiceSpec Spec(
        string name = "web", long cpu = 1000, long memory = 1 * Gi, long disk = 0, int gpus = 0, int ports = 0,
        string strategy = "binpack", AntiAffinityMode anti = AntiAffinityMode.None,
        Dictionary<string, string>? constraints = null, Dictionary<string, bool>? exists = null,
        NodeAffinity[]? affinity = null, TopologySpread[]? spread = null, string driver = "process") => new()
        {
            Name = name,
            Driver = driver,
            Command = "run",
            Resources = new Resources(cpu, memory, disk, gpus),
            Ports = [.. Enumerable.Range(0, ports).Select(i => new PortSpec($"p{i}"))],
            Placement = new PlacementSpec(constraints ?? [])
            {
                Strategy = strategy,
                AntiAffinity = anti,
                LabelExists = exists ?? [],
                Affinity = affinity ?? [],
                TopologySpread = spread ?? [],
            },
        };

    public static Dictionary<string, string> Labels(params string[] pairs) =>
        pairs.Select(p => p.Split('=')).ToDictionary(p => p[0], p => p[1]);

    /// <summary>Names of the nodes passing one filter, for one more instance of <paramref name="spec"/>.</summary>
    public static List<string> Passing(IPlacementFilter filter, ServiceSpec spec, params NodeCandidate[] nodes)
    {
        var state = ClusterState.From(nodes);
        var context = PlacementPipeline.Default.CreateContext(state, spec);
        var indexes = Enumerable.Range(0, state.Count).ToArray();
        var kept = filter.Filter(context, indexes);
        return [.. indexes.Take(kept).Select(i => state.Node(i).Name)];
    }

    /// <summary>One scorer's raw score (weight 1) for each node, in node name order.</summary>
    public static double[] Scores(IScorer scorer, ServiceSpec spec, params NodeCandidate[] nodes)
    {
        var state = ClusterState.From(nodes);
        var context = PlacementPipeline.Default.CreateContext(state, spec);
        var indexes = Enumerable.Range(0, state.Count).ToArray();
        var totals = new double[indexes.Length];
        scorer.Score(context, indexes, 1, totals);
        return totals;
    }

    /// <summary>Reasons a filter gives for one node.</summary>
    public static List<string> Reasons(IPlacementFilter filter, ServiceSpec spec, NodeCandidate node)
    {
        var state = ClusterState.From([node]);
        var reasons = new List<string>();
        filter.Explain(PlacementPipeline.Default.CreateContext(state, spec), 0, reasons);
        return reasons;
    }
}
