using static VirtualCluster.Scheduling.Tests.PipelineKit;

namespace VirtualCluster.Scheduling.Tests;

public class PipelineSchedulerTests
{
    private static PlacementResult Place(ServiceSpec spec, int count, params NodeCandidate[] nodes) =>
        new PipelineScheduler().Place(new PlacementRequest(spec, count, nodes));

    [Fact]
    public void Binpack_fills_the_fuller_node_and_spread_the_emptier()
    {
        var full = Node("full", allocated: new Resources(2000, 4 * Gi, 0));
        var empty = Node("empty");
        Assert.Equal("id-full", Place(Spec(), 1, full, empty).Placements[0].NodeId);
        Assert.Equal("id-empty", Place(Spec(strategy: "spread"), 1, full, empty).Placements[0].NodeId);
    }

    [Fact]
    public void Preferred_anti_affinity_spreads_replicas_over_empty_nodes_but_does_not_block()
    {
        var spread = Place(Spec(cpu: 100, memory: 64 * Mi, anti: AntiAffinityMode.Preferred), 3, Node("a"), Node("b"), Node("c"));
        Assert.Equal(3, spread.Placements.Select(p => p.NodeId).Distinct().Count());
        Assert.True(Place(Spec(cpu: 100, memory: 64 * Mi, anti: AntiAffinityMode.Preferred), 3, Node("a")).Succeeded);
        var required = Place(Spec(cpu: 100, memory: 64 * Mi, anti: AntiAffinityMode.Required), 3, Node("a"), Node("b"));
        Assert.False(required.Succeeded);
        Assert.Contains("only 2 of 3 instances fit", required.Failure!.Message);
        Assert.Contains("anti-affinity", required.Failure.Message);
    }

    [Fact]
    public void Affinity_prefers_matching_nodes_over_fuller_ones()
    {
        var result = Place(Spec(affinity: [new NodeAffinity("disk", "ssd", 100)]), 1,
            Node("hdd", allocated: new Resources(2000, 4 * Gi, 0), labels: Labels("disk=hdd")), Node("ssd", labels: Labels("disk=ssd")));
        Assert.Equal("id-ssd", result.Placements[0].NodeId);
        Assert.Equal(100, result.Placements[0].Scores!["node-affinity"]);
    }

    [Fact]
    public void Failure_counts_nodes_per_filter_and_dimension_and_names_the_closest_fit()
    {
        var nodes = new[]
        {
            Node("m1", memory: 2 * Gi, labels: Labels("zone=eu")),
            Node("m2", memory: 3 * Gi, labels: Labels("zone=eu")),
            Node("c1", cpu: 500, labels: Labels("zone=eu")),
            Node("us", labels: Labels("zone=us")),
            Node("dead", state: NodeState.Down, labels: Labels("zone=eu")),
        };
        var failure = Place(Spec(cpu: 1000, memory: 4 * Gi, constraints: new() { ["zone"] = "eu" }), 1, nodes).Failure!;
        Assert.StartsWith("cannot place 1 instance(s) of \"web\" on 5 node(s): memory exhausted on 2 of 5 nodes (needs 4 GiB, largest free 8 GiB on c1)", failure.Message);
        Assert.Contains("cpu exhausted on 1 of 5 nodes", failure.Message);
        Assert.Contains("constraint zone=eu on 1 of 5 nodes", failure.Message);
        Assert.Contains("state down on 1 of 5 nodes", failure.Message);
        Assert.Contains("closest fit m2 lacks 1 GiB memory", failure.Message);
        Assert.Equal("m2", failure.ClosestFit!.NodeName);
        Assert.Equal(1 * Gi, failure.ClosestFit.Missing["memory"]);
        var resources = failure.Filters!.Single(f => f.Filter == FilterNames.Resources);
        Assert.Equal(3, resources.Removed);
        Assert.Equal(2, resources.ByDimension["memory"]);
        Assert.Equal(1, resources.ByDimension["cpu"]);
        Assert.Contains(failure.Shortfalls, s => s is { Resource: "memory", NodesLacking: 2, Requested: 4L << 30 });
        Assert.Contains(failure.Shortfalls, s => s is { Resource: "constraint", NodesLacking: 1 });
    }

    [Fact]
    public void A_failed_request_leaves_the_state_as_it_was()
    {
        var scheduler = new PipelineScheduler();
        var state = scheduler.CreateState([Node("a", ports: 1), Node("b", ports: 1)]);
        var result = scheduler.Place(state, Spec(cpu: 100, memory: Mi, ports: 1), 3);
        Assert.False(result.Succeeded);
        Assert.Equal(Resources.Zero, state.Allocated(0));
        Assert.Equal(1, state.FreePortCount(0));
        Assert.Equal(0, state.ServiceTotal("web"));
        Assert.Equal(2, scheduler.Place(state, Spec(cpu: 100, memory: Mi, ports: 1), 2).Placements.Count);
        Assert.Equal(2, state.ServiceTotal("web"));
    }

    [Fact]
    public void Explain_ranks_feasible_nodes_with_each_scorer()
    {
        var scheduler = new PipelineScheduler();
        var explanation = scheduler.Explain(new PlacementRequest(Spec(), 1,
            [Node("a", allocated: new Resources(2000, 4 * Gi, 0)), Node("b"), Node("tiny", cpu: 100)]));
        Assert.Equal("binpack", explanation.Strategy);
        Assert.Equal(2, explanation.NodesFeasible);
        Assert.Equal(["a", "b"], explanation.Ranking.Select(r => r.NodeName));
        Assert.True(explanation.Ranking[0].Total > explanation.Ranking[1].Total);
        Assert.Contains("most-allocated", explanation.Ranking[0].Scorers.Keys);
        Assert.Equal(1, explanation.Filters.Single(f => f.Filter == "resources").ByDimension["cpu"]);
        Assert.Null(explanation.Failure);
    }

    [Fact]
    public void No_nodes_and_bad_requests_say_what_to_do()
    {
        Assert.Contains("no nodes have joined", Place(Spec(), 1).Failure!.Message);
        Assert.Throws<ArgumentException>(() => Place(Spec(strategy: "random"), 1, Node("a")));
        Assert.Throws<ArgumentException>(() => Place(Spec(cpu: -1), 1, Node("a")));
        Assert.Throws<ArgumentException>(() => Place(Spec(), 1, Node("a"), Node("a")));
        Assert.Throws<ArgumentOutOfRangeException>(() => Place(Spec(), -1, Node("a")));
        Assert.Throws<ArgumentException>(() => new PipelineScheduler(new SchedulerOptions { RankingSize = 0 }));
        Assert.True(Place(Spec(), 0).Succeeded);
    }

    [Fact]
    public void Custom_strategies_and_filters_plug_in()
    {
        var pipeline = new PlacementPipeline([.. PlacementPipeline.BuiltInFilters(), new OnlyNamed("b")],
            [new PlacementStrategy("binpack", [new WeightedScorer(new LeastAllocatedScorer(), 1)])]);
        var result = new PipelineScheduler(new SchedulerOptions(), pipeline).Place(new PlacementRequest(Spec(), 1, [Node("a"), Node("b"), Node("c")]));
        Assert.Equal("id-b", result.Placements[0].NodeId);
        Assert.Throws<ArgumentException>(() => new PlacementPipeline([], [new PlacementStrategy("x", [new WeightedScorer(new LeastAllocatedScorer(), 0)])]));
        var broken = new PlacementPipeline([new Broken()], PlacementPipeline.BuiltInStrategies());
        Assert.Throws<InvalidOperationException>(() => new PipelineScheduler(new SchedulerOptions(), broken).Place(new PlacementRequest(Spec(), 1, [Node("a")])));
    }

    private sealed class OnlyNamed(string name) : IPlacementFilter
    {
        public string Name => "only-" + name;
        public bool IsStatic => false;
        public bool AppliesTo(PlacementContext context) => true;

        public int Filter(PlacementContext context, Span<int> nodes)
        {
            var kept = 0;
            foreach (var i in nodes)
                if (context.Cluster.Node(i).Name == name) nodes[kept++] = i;
            return kept;
        }

        public void Explain(PlacementContext context, int node, List<string> reasons) => reasons.Add("not " + name);
    }

    private sealed class Broken : IPlacementFilter
    {
        public string Name => "broken";
        public bool IsStatic => false;
        public bool AppliesTo(PlacementContext context) => true;

        public int Filter(PlacementContext context, Span<int> nodes)
        {
            nodes[0] = 12345;
            return 1;
        }

        public void Explain(PlacementContext context, int node, List<string> reasons) { }
    }
}
