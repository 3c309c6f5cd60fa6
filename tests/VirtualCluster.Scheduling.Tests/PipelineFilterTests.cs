using static VirtualCluster.Scheduling.Tests.PipelineKit;

namespace VirtualCluster.Scheduling.Tests;

public class PipelineFilterTests
{
    [Fact]
    public void NodeState_keeps_only_alive_nodes()
    {
        var filter = new NodeStateFilter();
        Assert.Equal(["a"], Passing(filter, Spec(), Node("a"), Node("b", state: NodeState.Suspect), Node("c", state: NodeState.Down), Node("d", state: NodeState.Left)));
        Assert.Equal(["state down"], Reasons(filter, Spec(), Node("c", state: NodeState.Down)));
    }

    [Fact]
    public void Driver_needs_the_spec_driver()
    {
        var filter = new DriverFilter();
        var spec = Spec(driver: "docker");
        Assert.Equal(["b"], Passing(filter, spec, Node("a"), Node("b", drivers: ["process", "docker"])));
        Assert.Equal(["driver docker"], Reasons(filter, spec, Node("a")));
    }

    [Fact]
    public void Constraints_match_values_and_existence()
    {
        var filter = new LabelConstraintFilter();
        var spec = Spec(constraints: new() { ["zone"] = "eu" }, exists: new() { ["gpu"] = true, ["spot"] = false });
        var nodes = new[]
        {
            Node("a", labels: Labels("zone=eu", "gpu=a100")),
            Node("b", labels: Labels("zone=us", "gpu=a100")),
            Node("c", labels: Labels("zone=eu")),
            Node("d", labels: Labels("zone=eu", "gpu=t4", "spot=yes")),
        };
        Assert.Equal(["a"], Passing(filter, spec, nodes));
        Assert.Equal(["constraint zone=eu"], Reasons(filter, spec, nodes[1]));
        Assert.Equal(["constraint gpu exists"], Reasons(filter, spec, nodes[2]));
        Assert.Equal(["constraint spot absent"], Reasons(filter, spec, nodes[3]));
        Assert.False(filter.AppliesTo(PlacementPipeline.Default.CreateContext(ClusterState.From(nodes), Spec())));
    }

    [Fact]
    public void Specs_alike_in_driver_and_constraints_share_one_static_pass_and_others_get_their_own()
    {
        var nodes = new[]
        {
            Node("a", labels: Labels("zone=eu")),
            Node("b", labels: Labels("zone=us"), drivers: ["process", "docker"]),
            Node("c", labels: Labels("zone=eu"), state: NodeState.Down),
            Node("d", labels: Labels("zone=eu", "gpu=t4"), drivers: ["docker"]),
        };
        var state = ClusterState.From(nodes);
        var pipeline = PlacementPipeline.Default;
        string[] Static(ServiceSpec spec) => [.. pipeline.CreateContext(state, spec).StaticNodes.ToArray().Select(i => state.Node(i).Name)];
        var eu = Spec("one", constraints: new() { ["zone"] = "eu" });
        var euAgain = Spec("two", cpu: 1, constraints: new() { ["zone"] = "eu" });

        Assert.Equal(["a"], Static(eu));
        Assert.Equal(["a"], Static(euAgain));
        Assert.Same(pipeline.CreateContext(state, eu).Entry.Nodes, pipeline.CreateContext(state, euAgain).Entry.Nodes);
        // Positive controls: a different driver, constraint or label test is a shape of its own.
        Assert.Equal(["b", "d"], Static(Spec("three", driver: "docker")));
        Assert.Equal(["d"], Static(Spec("four", driver: "docker", constraints: new() { ["zone"] = "eu" })));
        Assert.Equal(["b"], Static(Spec("five", constraints: new() { ["zone"] = "us" })));
        Assert.Equal(["a", "b"], Static(Spec("six")));
        Assert.Equal(["a", "b"], Static(Spec("seven", exists: new() { ["gpu"] = false, ["zone"] = true })));
        Assert.NotSame(pipeline.CreateContext(state, eu).Entry.Nodes, pipeline.CreateContext(state, Spec("eight", constraints: new() { ["zone"] = "us" })).Entry.Nodes);
    }

    [Fact]
    public void A_custom_static_filter_keeps_the_static_pass_per_spec()
    {
        var pipeline = new PlacementPipeline([.. PlacementPipeline.BuiltInFilters(), new NamePrefixFilter()], PlacementPipeline.BuiltInStrategies());
        var state = ClusterState.From([Node("web-1"), Node("db-1")]);
        Assert.Equal([state.IndexOf("id-web-1")], pipeline.CreateContext(state, Spec("web")).StaticNodes.ToArray());
        Assert.Equal([state.IndexOf("id-db-1")], pipeline.CreateContext(state, Spec("db")).StaticNodes.ToArray());
    }

    /// <summary>A static filter that reads more of the spec than the built-in ones: nodes named after the service.</summary>
    private sealed class NamePrefixFilter : IPlacementFilter
    {
        public string Name => "name-prefix";
        public bool IsStatic => true;
        public bool AppliesTo(PlacementContext context) => true;

        public int Filter(PlacementContext context, Span<int> nodes)
        {
            var kept = 0;
            foreach (var i in nodes)
                if (context.Cluster.Node(i).Name.StartsWith(context.Spec.Name, StringComparison.Ordinal)) nodes[kept++] = i;
            return kept;
        }

        public void Explain(PlacementContext context, int node, List<string> reasons) { }
    }

    [Theory]
    [InlineData(3000, 0, 0, 0, "")]          // fits exactly on the 4-core node with 1 core reserved
    [InlineData(3001, 0, 0, 0, "cpu")]
    [InlineData(1, 7 * Gi + 1, 0, 0, "memory")]
    [InlineData(1, 1, 100 * Gi + 1, 0, "disk")]
    [InlineData(1, 1, 0, 2, "gpus")]
    [InlineData(3001, 8 * Gi, 0, 2, "cpu memory gpus")]
    public void Resources_check_every_dimension(long cpu, long memory, long disk, int gpus, string lacking)
    {
        var node = Node("a", gpus: 1, allocated: new Resources(1000, 1 * Gi, 0));
        var spec = Spec(cpu: cpu, memory: memory, disk: disk, gpus: gpus);
        Assert.Equal(lacking.Length == 0, Passing(new ResourceFilter(), spec, node).Count == 1);
        Assert.Equal(lacking.Length == 0 ? [] : lacking.Split(' '), Reasons(new ResourceFilter(), spec, node));
    }

    [Fact]
    public void Resources_count_measured_memory_used_outside_the_orchestrator()
    {
        // 1 GiB reserved but 6 GiB in use: effective free memory is 8 − max(1, 6) = 2 GiB.
        var node = Node("a", allocated: new Resources(1000, 1 * Gi, 0), usage: new ResourceUsage(3900, 6 * Gi, 0));
        Assert.Single(Passing(new ResourceFilter(), Spec(memory: 2 * Gi), node));
        Assert.Empty(Passing(new ResourceFilter(), Spec(memory: 2 * Gi + 1), node));
        // CPU use is compressible: by default only reservations count, so 3 cores still fit.
        Assert.Single(Passing(new ResourceFilter(), Spec(cpu: 3000, memory: 1), node));
        var strict = ClusterState.From([node], new SchedulerOptions { CountCpuUsage = true });
        Assert.False(strict.Fits(0, new Resources(3000, 1, 0), 0));
        var ignoring = ClusterState.From([node], new SchedulerOptions { UseMeasuredUsage = false });
        Assert.True(ignoring.Fits(0, new Resources(1000, 7 * Gi, 0), 0));
    }

    [Fact]
    public void Ports_need_a_free_port_per_named_port()
    {
        var filter = new PortFilter();
        var spec = Spec(ports: 3);
        Assert.Equal(["b"], Passing(filter, spec, Node("a", ports: 2), Node("b", ports: 3)));
        Assert.Equal(["ports"], Reasons(filter, spec, Node("a", ports: 2)));
        Assert.False(filter.AppliesTo(PlacementPipeline.Default.CreateContext(ClusterState.From([Node("a")]), Spec())));
    }

    [Fact]
    public void Required_anti_affinity_excludes_nodes_running_a_replica()
    {
        var filter = new AntiAffinityFilter();
        var spec = Spec(anti: AntiAffinityMode.Required);
        Assert.Equal(["b"], Passing(filter, spec, Node("a", services: ["web"]), Node("b", services: ["db"])));
        var preferred = PlacementPipeline.Default.CreateContext(ClusterState.From([Node("a", services: ["web"])]), Spec(anti: AntiAffinityMode.Preferred));
        Assert.False(filter.AppliesTo(preferred));
    }

    [Fact]
    public void Topology_spread_keeps_domains_within_max_skew_and_needs_the_label()
    {
        var filter = new TopologySpreadFilter();
        var spec = Spec(spread: [new TopologySpread("zone", 1)]);
        var nodes = new[]
        {
            Node("a1", labels: Labels("zone=a"), services: ["web"]),
            Node("a2", labels: Labels("zone=a")),
            Node("b1", labels: Labels("zone=b")),
            Node("x", labels: []),
        };
        // zone a has 1, zone b has 0: another in a would make the skew 2.
        Assert.Equal(["b1"], Passing(filter, spec, nodes));
        Assert.Equal(["topology zone (label missing)"], Reasons(filter, spec, nodes[3]));
        var loose = Spec(spread: [new TopologySpread("zone", 2)]);
        Assert.Equal(["a1", "a2", "b1"], Passing(filter, loose, nodes));
    }

    [Fact]
    public void Topology_spread_ignores_domains_the_constraints_rule_out()
    {
        // Zone c is excluded by the constraint; its zero count must not hold zones a and b back.
        var spec = Spec(constraints: new() { ["tier"] = "web" }, spread: [new TopologySpread("zone", 1)]);
        var nodes = new[]
        {
            Node("a", labels: Labels("zone=a", "tier=web"), services: ["web"]),
            Node("b", labels: Labels("zone=b", "tier=web"), services: ["web"]),
            Node("c", labels: Labels("zone=c", "tier=db")),
        };
        // (c passes this filter too; the constraints filter is the one that removes it.)
        Assert.Equal(["a", "b", "c"], Passing(new TopologySpreadFilter(), spec, nodes));
    }
}
