using CsCheck;

namespace VirtualCluster.Scheduling.Tests;

/// <summary>Properties of the pipeline scheduler over random clusters and specs.</summary>
public class PipelinePropertyTests
{
    private static readonly string[] Zones = ["a", "b", "c"];

    private static readonly Gen<NodeCandidate> NodeGen =
        Gen.Select(
            Gen.Select(Gen.Int[0, 11], Gen.Long[0, 4000], Gen.Long[0, 4096], Gen.Long[0, 100], Gen.Int[0, 2]),
            Gen.Select(Gen.Long[0, 4000], Gen.Long[0, 4096], Gen.Long[0, 4096], Gen.Int[0, 5], Gen.Int[0, 9].Array[0, 4]),
            Gen.Select(Gen.Int[0, 3], Gen.Bool, Gen.Int[0, 2].Array[0, 3],
                Gen.Frequency((8, Gen.Const(NodeState.Alive)), (1, Gen.Const(NodeState.Suspect)), (1, Gen.Const(NodeState.Down)))),
            (capacity, use, extra) =>
            {
                var (id, cpu, memory, disk, gpus) = capacity;
                var (allocCpu, allocMem, usedMem, portCount, used) = use;
                var (zone, ssd, services, state) = extra;
                var labels = new Dictionary<string, string>();
                if (zone < 3) labels["zone"] = Zones[zone];
                if (ssd) labels["disk"] = "ssd";
                return new NodeCandidate(
                    new NodeInfo($"id-{id}", $"node-{id}", "127.0.0.1", new Resources(cpu, memory, disk, gpus),
                        new ResourceUsage(0, usedMem, 0), ["process"], new PortRange(30000, 30000 + portCount - 1), labels, state, null),
                    // Allocations may exceed capacity (a node that shrank); the scheduler must still never add to them.
                    new Resources(allocCpu, allocMem, 0),
                    used.Select(p => 30000 + p).ToHashSet(),
                    [.. services.Select(s => s == 0 ? "svc" : "other")]);
            });

    private static readonly Gen<ServiceSpec> SpecGen =
        Gen.Select(
            Gen.Select(Gen.Long[1, 2000], Gen.Long[1, 2048], Gen.Long[0, 50], Gen.Int[0, 1], Gen.Int[0, 2]),
            Gen.Select(Gen.Int[0, 2], Gen.Int[0, 3], Gen.Bool, Gen.Int[0, 3], Gen.Bool),
            (resources, rules) =>
            {
                var (cpu, memory, disk, gpus, ports) = resources;
                var (anti, zone, ssdAffinity, spread, spreadStrategy) = rules;
                return new ServiceSpec
                {
                    Name = "svc",
                    Driver = "process",
                    Command = "run",
                    Resources = new Resources(cpu, memory, disk, gpus),
                    Ports = [.. Enumerable.Range(0, ports).Select(i => new PortSpec($"p{i}"))],
                    Placement = new PlacementSpec(zone < 3 && zone != 1 ? new Dictionary<string, string> { ["zone"] = Zones[zone] } : [])
                    {
                        Strategy = spreadStrategy ? "spread" : "binpack",
                        AntiAffinity = (AntiAffinityMode)anti,
                        LabelExists = zone == 1 ? new Dictionary<string, bool> { ["zone"] = true } : [],
                        Affinity = ssdAffinity ? [new NodeAffinity("disk", "ssd", 70)] : [],
                        TopologySpread = spread > 0 ? [new TopologySpread("zone", spread)] : [],
                    },
                };
            });

    private static readonly Gen<PlacementRequest> RequestGen =
        Gen.Select(NodeGen.Array[0, 8], SpecGen, Gen.Int[0, 8])
            .Select((nodes, spec, count) => new PlacementRequest(spec, count, nodes.DistinctBy(n => n.Node.Id).ToList()));

    [Fact]
    public void Placements_never_exceed_capacity_and_every_rule_holds() =>
        RequestGen.Sample(request =>
        {
            var result = new PipelineScheduler().Place(request);
            if (!result.Succeeded)
            {
                Assert.Empty(result.Placements);
                Assert.False(string.IsNullOrWhiteSpace(result.Failure!.Message));
                return;
            }
            Assert.Equal(request.Count, result.Placements.Count);
            var spec = request.Spec;
            foreach (var group in result.Placements.GroupBy(p => p.NodeId))
            {
                var node = request.Nodes.Single(n => n.Node.Id == group.Key);
                var info = node.Node;
                Assert.Equal(NodeState.Alive, info.State);
                var added = spec.Resources * group.Count();
                var cap = info.Capacity;
                // Effective use: reservations, or measured memory when larger.
                Assert.True(Math.Max(0, node.Allocated.CpuMillicores) + added.CpuMillicores <= cap.CpuMillicores, "cpu overcommitted");
                Assert.True(Math.Max(node.Allocated.MemoryBytes, info.Usage.MemoryBytes) + added.MemoryBytes <= cap.MemoryBytes, "memory overcommitted");
                Assert.True(Math.Max(node.Allocated.DiskBytes, info.Usage.DiskBytes) + added.DiskBytes <= cap.DiskBytes, "disk overcommitted");
                Assert.True(node.Allocated.Gpus + added.Gpus <= cap.Gpus, "gpus overcommitted");
                var ports = group.SelectMany(p => p.Ports.Values).ToList();
                Assert.Equal(ports.Count, ports.Distinct().Count());
                Assert.All(ports, p => Assert.True(p >= info.Ports.First && p <= info.Ports.Last && !node.UsedPorts.Contains(p)));
                foreach (var (key, value) in spec.Placement.Constraints) Assert.Equal(value, info.Labels.GetValueOrDefault(key));
                foreach (var (key, exists) in spec.Placement.LabelExists) Assert.Equal(exists, info.Labels.ContainsKey(key));
                if (spec.Placement.AntiAffinity == AntiAffinityMode.Required)
                {
                    Assert.Single(group);
                    Assert.DoesNotContain("svc", node.Services);
                }
            }
            Assert.All(result.Placements, p => Assert.InRange(p.Score, 0, 100));
            Assert.All(result.Placements, p => Assert.All(p.Scores!.Values, s => Assert.InRange(s, 0, 100)));
            CheckSpread(request, result);
        }, iter: 3_000);

    /// <summary>Each placement keeps its domain within maxSkew of the emptiest eligible domain, so the final skew of new replicas is bounded too.</summary>
    private static void CheckSpread(PlacementRequest request, PlacementResult result)
    {
        foreach (var spread in request.Spec.Placement.TopologySpread)
        {
            var eligible = request.Nodes.Where(n => n.Node.State == NodeState.Alive && n.Node.Labels.ContainsKey(spread.Key)
                && request.Spec.Placement.Constraints.All(c => n.Node.Labels.GetValueOrDefault(c.Key) == c.Value)).ToList();
            var counts = eligible.Select(n => n.Node.Labels[spread.Key]).Distinct().ToDictionary(z => z, _ => 0);
            foreach (var n in request.Nodes)
                if (n.Node.Labels.TryGetValue(spread.Key, out var z) && counts.ContainsKey(z)) counts[z] += n.Services.Count(s => s == "svc");
            foreach (var placement in result.Placements)
            {
                var zone = request.Nodes.Single(n => n.Node.Id == placement.NodeId).Node.Labels[spread.Key];
                Assert.True(counts[zone] + 1 - counts.Values.Min() <= spread.MaxSkew, $"skew over {spread.MaxSkew} in {zone}");
                counts[zone]++;
            }
        }
    }

    [Fact]
    public void Same_input_gives_the_same_placement_whatever_the_node_order() =>
        Gen.Select(RequestGen, Gen.Int).Sample((request, seed) =>
        {
            var shuffled = request with { Nodes = request.Nodes.OrderBy(_ => new Random(seed).Next()).ToList() };
            Assert.Equal(Describe(new PipelineScheduler().Place(request)), Describe(new PipelineScheduler().Place(request)));
            Assert.Equal(Describe(new PipelineScheduler().Place(request)), Describe(new PipelineScheduler().Place(shuffled)));
        }, iter: 1_000);

    [Fact]
    public void One_instance_fits_exactly_when_some_node_passes_every_filter() =>
        RequestGen.Sample(request =>
        {
            var single = request with { Count = 1 };
            var spec = single.Spec;
            var state = ClusterState.From(single.Nodes);
            var anyFits = Enumerable.Range(0, state.Count).Any(i =>
                PlacementPipeline.Default.IsFeasible(PlacementPipeline.Default.CreateContext(state, spec), i));
            Assert.Equal(anyFits, new PipelineScheduler().Place(single).Succeeded);
        }, iter: 2_000);

    [Fact]
    public void Batch_algorithms_keep_every_rule_and_best_never_uses_more_nodes_than_first_fit_decreasing() =>
        Gen.Select(NodeGen.Array[1, 8], SpecGen, Gen.Int[1, 6], Gen.Int[0, 4]).Sample((nodes, spec, count, other) =>
        {
            var candidates = nodes.DistinctBy(n => n.Node.Id).ToList();
            var second = spec with { Name = "second", Resources = spec.Resources with { CpuMillicores = spec.Resources.CpuMillicores / 2 + 1 } };
            BatchItem[] items = [new(spec, count), new(second, other)];
            var scheduler = new PipelineScheduler();
            var ffd = BatchPlacer.Place(scheduler, candidates, items, BatchAlgorithm.FirstFitDecreasing);
            var best = BatchPlacer.Place(scheduler, candidates, items, BatchAlgorithm.Best);
            if (ffd.Succeeded) Assert.True(best.Succeeded && best.NodesUsed <= ffd.NodesUsed, $"best {best.NodesUsed} > ffd {ffd.NodesUsed}");
            foreach (var algorithm in new[] { BatchAlgorithm.Pipeline, BatchAlgorithm.FirstFitDecreasing, BatchAlgorithm.DotProduct })
            {
                var result = BatchPlacer.Place(scheduler, candidates, items, algorithm);
                if (!result.Succeeded) continue;
                Assert.Equal(count, result.Placements.GetValueOrDefault("svc")?.Count ?? 0);
                // Replaying the batch's placements one by one on a fresh state must find each node still feasible.
                var state = ClusterState.From(candidates);
                foreach (var (name, placements) in result.Placements)
                {
                    var itemSpec = name == "svc" ? spec : second;
                    foreach (var p in placements)
                    {
                        var i = state.IndexOf(p.NodeId);
                        Assert.True(PlacementPipeline.Default.IsFeasible(PlacementPipeline.Default.CreateContext(state, itemSpec), i), $"{algorithm}: {name} on {p.NodeId}");
                        state.Reserve(i, itemSpec);
                    }
                }
            }
        }, iter: 1_000);

    [Fact]
    public void The_chosen_node_has_the_best_score_of_the_separate_scorers() =>
        RequestGen.Sample(request =>
        {
            // Selection fuses the allocation scorers into one pass; explanations run them one by one. Both must agree.
            var pipeline = PlacementPipeline.Default;
            var state = ClusterState.From(request.Nodes);
            var context = pipeline.CreateContext(state, request.Spec);
            if (!pipeline.TrySelect(context, out var chosen, out var score)) return;
            var explained = pipeline.ScoreNode(context, chosen);
            Assert.True(Math.Abs(explained.Total - score) < 0.011, $"selection {score}, explanation {explained.Total} ({string.Join(", ", explained.Scorers)}) on {state.Node(chosen).Name} cap {state.Capacity(chosen)} used {state.Used(chosen)} spec {request.Spec.Resources}");
            for (var i = 0; i < state.Count; i++)
                if (pipeline.IsFeasible(context, i)) Assert.True(pipeline.ScoreNode(context, i).Total <= score + 0.011, $"node {i} scores higher than the chosen one");
        }, iter: 3_000);

    private static string Describe(PlacementResult result) =>
        result.Failure?.Message
        ?? string.Join(" | ", result.Placements.Select(p => $"{p.NodeId} {p.Score} {string.Join(",", p.Ports.OrderBy(e => e.Key).Select(e => $"{e.Key}={e.Value}"))}"));
}
