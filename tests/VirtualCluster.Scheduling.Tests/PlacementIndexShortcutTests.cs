using CsCheck;

namespace VirtualCluster.Scheduling.Tests;

/// <summary>
/// The index's shortcuts (share maxima per free-capacity level, one candidate per score class, dominated runs of
/// nodes with the same use skipped, per-service counts of nodes without a replica) on clusters built to trigger
/// them: few node shapes, fills in steps of a quarter so many nodes are identical across static groups, services
/// listed on some nodes. The indexed choice must equal the full scan's (node and score) while reservations and
/// releases change the state, and each shortcut must actually be taken (positive controls over the whole run).
/// </summary>
public class PlacementIndexShortcutTests
{
    private static readonly string[] Zones = ["a", "b", "c"];
    private static readonly (long Cpu, long Memory)[] Shapes = [(4000, 8192), (8000, 16384), (16000, 16384)];

    private static readonly Gen<Func<int, NodeCandidate>> NodeGen =
        Gen.Select(Gen.Int[0, Shapes.Length - 1], Gen.Int[0, 3], Gen.Int[0, 3], Gen.Int[0, 3], Gen.Int[0, 5],
            (shape, cpuQuarters, memQuarters, labels, service) => (Func<int, NodeCandidate>)(id =>
            {
                var (cpu, memory) = Shapes[shape];
                var map = new Dictionary<string, string> { ["zone"] = Zones[labels % 3] };
                if (labels == 3) map["disk"] = "ssd";
                return new NodeCandidate(
                    new NodeInfo($"id-{id:D4}", $"node-{id:D4}", "127.0.0.1", new Resources(cpu, memory, 0, 0), default, ["process"],
                        new PortRange(30000, 30099), map, NodeState.Alive, null),
                    new Resources(cpu * cpuQuarters / 4, memory * memQuarters / 4, 0, 0),
                    new HashSet<int>(),
                    service switch { 0 => ["svc"], 1 => ["other"], _ => [] });
            }));

    private static Gen<ServiceSpec> SpecGen(string name) =>
        Gen.Select(Gen.Int[1, 8], Gen.Int[1, 8], Gen.Int[0, 2], Gen.Int[0, 2], Gen.Bool,
            (cpu, memory, anti, rules, spread) => new ServiceSpec
            {
                Name = name,
                Driver = "process",
                Command = "run",
                Resources = new Resources(cpu * 250, memory * 512, 0, 0),
                Ports = rules == 2 ? [new PortSpec("http")] : [],
                Placement = new PlacementSpec(new Dictionary<string, string>())
                {
                    Strategy = spread ? "spread" : "binpack",
                    AntiAffinity = (AntiAffinityMode)anti,
                    Affinity = rules == 1 ? [new NodeAffinity("disk", "ssd", 50)] : [],
                    TopologySpread = rules == 2 ? [new TopologySpread("zone", 2)] : [],
                },
            });

    private static readonly Gen<(List<NodeCandidate> Nodes, ServiceSpec[] Specs, int Steps)> ClusterGen =
        Gen.Select(NodeGen.Array[40, 400], SpecGen("svc"), SpecGen("other"), Gen.Int[5, 60])
            .Select((nodes, a, b, steps) => (nodes.Select((make, id) => make(id)).ToList(), new[] { a, b }, steps));

    private static ClusterState State(List<NodeCandidate> nodes, PlacementIndexMode mode) =>
        new PipelineScheduler(new SchedulerOptions { PlacementIndex = mode, ReportScores = false }).CreateState(nodes);

    [Fact]
    public void Shortcuts_choose_the_full_scans_node_and_each_is_taken()
    {
        var totals = new PlacementIndex.Counters();
        ClusterGen.Sample(input =>
        {
            var (nodes, specs, steps) = input;
            var scan = State(nodes, PlacementIndexMode.Off);
            var indexed = State(nodes, PlacementIndexMode.Always);
            var index = indexed.IndexForSelection()!;
            var before = Copy(index.Stats);
            var pipeline = PlacementPipeline.Default;
            var made = new List<(ServiceSpec Spec, int Node, Dictionary<string, int> Ports)>();
            for (var step = 0; step < steps; step++)
            {
                var spec = specs[step % specs.Length];
                var a = pipeline.TrySelect(pipeline.CreateContext(scan, spec), out var nodeA, out var scoreA);
                var b = pipeline.TrySelect(pipeline.CreateContext(indexed, spec), out var nodeB, out var scoreB);
                Assert.True(a == b, $"step {step}: scan found {a}, index found {b}");
                Assert.True(nodeA == nodeB, $"step {step} {spec.Name}: scan chose {nodeA}, index chose {nodeB}");
                Assert.Equal(scoreA, scoreB);
                if (a) made.Add((spec, nodeA, Reserve(scan, indexed, nodeA, spec)));
                if (step % 5 == 4 && made.Count > 0)
                {
                    var (s, n, p) = made[made.Count / 2];
                    made.RemoveAt(made.Count / 2);
                    scan.Release(n, s, p.Values);
                    indexed.Release(n, s, p.Values);
                }
            }
            AssertReplicaCounts(indexed, index, specs);
            Add(totals, index.Stats, before);
        }, iter: 400, threads: 1);
        // Positive controls: on these clusters every shortcut is taken many times.
        Assert.True(totals.Selections > 1_000, $"selections {totals.Selections}");
        Assert.True(totals.TighterByLevel > 0, "the free-capacity levels never tightened a bound");
        Assert.True(totals.ClassMembersSkipped > 0, "no candidate was dropped as a member of a score class");
        Assert.True(totals.DominatedRuns > 0, "no run of nodes was skipped as dominated");
        Assert.True(totals.ReplicaPrunes > 0, "no subtree was bounded by its count of nodes without a replica");
    }

    [Fact]
    public void Counts_of_nodes_without_a_replica_follow_reservations_and_releases() =>
        ClusterGen.Sample(input =>
        {
            var (nodes, specs, steps) = input;
            var state = State(nodes, PlacementIndexMode.Always);
            var index = state.IndexForSelection()!;
            var random = new Random(steps);
            var made = new List<(ServiceSpec Spec, int Node)>();
            index.WithoutReplica("svc");
            for (var step = 0; step < steps * 4; step++)
            {
                var spec = specs[random.Next(specs.Length)];
                if (made.Count > 0 && random.Next(3) == 0)
                {
                    var (s, n) = made[random.Next(made.Count)];
                    made.Remove((s, n));
                    state.ReleaseResources(n, s);
                }
                else
                {
                    var node = random.Next(state.Count);
                    state.ReserveResources(node, spec);
                    made.Add((spec, node));
                }
                AssertReplicaCounts(state, index, specs);
            }
        }, iter: 100);

    /// <summary>The kept per-tree-node counts equal a recount from the state.</summary>
    private static void AssertReplicaCounts(ClusterState state, PlacementIndex index, ServiceSpec[] specs)
    {
        foreach (var spec in specs)
        {
            var kept = (int[])index.WithoutReplica(spec.Name).Clone();
            var expected = 0;
            for (var i = 0; i < state.Count; i++)
                if (state.ServiceCount(i, spec.Name) == 0) expected++;
            Assert.Equal(expected, kept[1]);
            for (var t = 1; t < index.LeafCount; t++) Assert.Equal(kept[2 * t] + kept[2 * t + 1], kept[t]);
        }
    }

    private static Dictionary<string, int> Reserve(ClusterState scan, ClusterState indexed, int node, ServiceSpec spec)
    {
        var ports = scan.Reserve(node, spec);
        Assert.Equal(ports, indexed.Reserve(node, spec));
        return ports;
    }

    private static PlacementIndex.Counters Copy(PlacementIndex.Counters c) => new()
    {
        Selections = c.Selections, TighterByLevel = c.TighterByLevel, DominatedRuns = c.DominatedRuns,
        ClassMembersSkipped = c.ClassMembersSkipped, ReplicaPrunes = c.ReplicaPrunes,
    };

    private static void Add(PlacementIndex.Counters total, PlacementIndex.Counters now, PlacementIndex.Counters before)
    {
        total.Selections += now.Selections - before.Selections;
        total.TighterByLevel += now.TighterByLevel - before.TighterByLevel;
        total.DominatedRuns += now.DominatedRuns - before.DominatedRuns;
        total.ClassMembersSkipped += now.ClassMembersSkipped - before.ClassMembersSkipped;
        total.ReplicaPrunes += now.ReplicaPrunes - before.ReplicaPrunes;
    }
}
