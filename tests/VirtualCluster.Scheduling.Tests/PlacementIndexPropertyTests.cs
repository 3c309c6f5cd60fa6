using CsCheck;

namespace VirtualCluster.Scheduling.Tests;

/// <summary>
/// The indexed placement (<see cref="PlacementIndexMode.Always"/>) must choose the node the full scan chooses
/// (<see cref="PlacementIndexMode.Off"/>), with the same score, on random clusters and specs using every filter and
/// scorer: ports in use and needed, services listed, labels, constraints, affinity, anti-affinity, topology spread,
/// disk and GPUs, node states; and it must stay identical while reservations and releases update the index.
/// </summary>
public class PlacementIndexPropertyTests
{
    private static readonly string[] Zones = ["a", "b", "c", "d"];
    private static readonly (long Cpu, long Memory, long Disk, int Gpus)[] Shapes =
        [(4000, 8192, 100, 0), (8000, 16384, 200, 0), (2000, 4096, 50, 2), (16000, 65536, 500, 4), (1000, 1024, 0, 0)];

    private static readonly Gen<Func<int, NodeCandidate>> NodeGen =
        Gen.Select(
            Gen.Select(Gen.Int[0, Shapes.Length - 1], Gen.Double[0, 1.1], Gen.Double[0, 1.1], Gen.Double[0, 1], Gen.Int[0, 2]),
            Gen.Select(Gen.Int[0, 4], Gen.Int[0, 2], Gen.Int[0, 8], Gen.Int[0, 12].Array[0, 4], Gen.Int[0, 3].Array[0, 3]),
            Gen.Frequency((12, Gen.Const(NodeState.Alive)), (1, Gen.Const(NodeState.Suspect)), (1, Gen.Const(NodeState.Down))),
            Gen.Bool,
            (capacity, labels, state, docker) =>
            {
                var (shape, cpuFill, memFill, usedMem, gpus) = capacity;
                var (zone, disk, portCount, used, services) = labels;
                return (Func<int, NodeCandidate>)(id =>
                {
                    var (cpu, memory, diskCap, gpuCap) = Shapes[shape];
                    var map = new Dictionary<string, string>();
                    if (zone < Zones.Length) map["zone"] = Zones[zone];
                    if (disk == 1) map["disk"] = "ssd";
                    if (disk == 2) map["disk"] = "hdd";
                    return new NodeCandidate(
                        new NodeInfo($"id-{id:D4}", $"node-{id % 50:D2}", "127.0.0.1", new Resources(cpu, memory, diskCap, gpuCap),
                            new ResourceUsage(0, (long)(usedMem * memory), 0), docker ? ["process", "docker"] : ["process"],
                            new PortRange(30000, 30000 + portCount - 1), map, state, null),
                        new Resources((long)(cpuFill * cpu), (long)(memFill * memory), diskCap / 3, Math.Min(gpus, gpuCap)),
                        used.Select(p => 30000 + p).ToHashSet(),
                        [.. services.Select(s => s == 0 ? "svc" : s == 1 ? "other" : "svc2")]);
                });
            });

    private static Gen<ServiceSpec> SpecGen(string name) =>
        Gen.Select(
            Gen.Select(Gen.Long[0, 3000], Gen.Long[0, 6000], Gen.Frequency((3, Gen.Const(0L)), (1, Gen.Long[1, 60])), Gen.Frequency((5, Gen.Const(0)), (1, Gen.Int[1, 2])), Gen.Int[0, 3]),
            Gen.Select(Gen.Int[0, 2], Gen.Int[0, 5], Gen.Int[0, 3], Gen.Int[0, 3], Gen.Bool),
            Gen.Bool,
            (resources, rules, docker) =>
            {
                var (cpu, memory, disk, gpus, ports) = resources;
                var (anti, zone, affinity, spread, spreadStrategy) = rules;
                return new ServiceSpec
                {
                    Name = name,
                    Driver = docker ? "docker" : "process",
                    Command = "run",
                    Resources = new Resources(cpu, memory, disk, gpus),
                    Ports = [.. Enumerable.Range(0, ports).Select(i => new PortSpec($"p{i}"))],
                    Placement = new PlacementSpec(zone is 0 or 2 ? new Dictionary<string, string> { ["zone"] = Zones[zone] } : [])
                    {
                        Strategy = spreadStrategy ? "spread" : "binpack",
                        AntiAffinity = (AntiAffinityMode)anti,
                        LabelExists = zone == 1 ? new Dictionary<string, bool> { ["zone"] = true } : zone == 3 ? new Dictionary<string, bool> { ["disk"] = false } : [],
                        Affinity = affinity switch
                        {
                            1 => [new NodeAffinity("disk", "ssd", 70)],
                            2 => [new NodeAffinity("disk", "ssd", 50), new NodeAffinity("zone", "a", -30)],
                            3 => [new NodeAffinity("zone", "b", -40)],
                            _ => [],
                        },
                        TopologySpread = spread switch
                        {
                            1 => [new TopologySpread("zone", 1)],
                            2 => [new TopologySpread("zone", 2)],
                            3 => [new TopologySpread("zone", 1), new TopologySpread("disk", 1)],
                            _ => [],
                        },
                    },
                };
            });

    internal static readonly Gen<(List<NodeCandidate> Nodes, ServiceSpec[] Specs, int Steps)> ClusterGen =
        Gen.Select(NodeGen.Array[1, 160], SpecGen("svc"), SpecGen("svc2"), SpecGen("third"), Gen.Int[1, 40])
            .Select((nodes, a, b, c, steps) => (nodes.Select((make, id) => make(id)).ToList(), new[] { a, b, c }, steps));

    private static PipelineScheduler Scheduler(PlacementIndexMode mode) =>
        new(new SchedulerOptions { PlacementIndex = mode, ReportScores = false });

    [Fact]
    public void Indexed_placement_chooses_the_full_scans_node_while_reservations_and_releases_change_the_state() =>
        ClusterGen.Sample(input =>
        {
            var (nodes, specs, steps) = input;
            var scan = Scheduler(PlacementIndexMode.Off).CreateState(nodes);
            var indexed = Scheduler(PlacementIndexMode.Always).CreateState(nodes);
            var pipeline = PlacementPipeline.Default;
            var made = new List<(ServiceSpec Spec, int Node, Dictionary<string, int> Ports)>();
            for (var step = 0; step < steps; step++)
            {
                var spec = specs[step % specs.Length];
                var a = pipeline.TrySelect(pipeline.CreateContext(scan, spec), out var nodeA, out var scoreA);
                var b = pipeline.TrySelect(pipeline.CreateContext(indexed, spec), out var nodeB, out var scoreB);
                Assert.True(a == b, $"step {step}: scan found {a}, index found {b}");
                Assert.True(nodeA == nodeB, $"step {step} {spec.Name}: scan chose {Name(scan, nodeA)}, index chose {Name(indexed, nodeB)}");
                Assert.Equal(scoreA, scoreB);
                if (a)
                {
                    var portsA = scan.Reserve(nodeA, spec);
                    var portsB = indexed.Reserve(nodeB, spec);
                    Assert.Equal(portsA, portsB);
                    made.Add((spec, nodeA, portsA));
                }
                if (step % 4 == 3 && made.Count > 0)
                {
                    var (s, n, p) = made[0];
                    made.RemoveAt(0);
                    scan.Release(n, s, p.Values);
                    indexed.Release(n, s, p.Values);
                }
            }
        }, iter: 3_000);

    [Fact]
    public void Placements_through_the_scheduler_are_the_same_with_and_without_the_index() =>
        ClusterGen.Sample(input =>
        {
            var (nodes, specs, steps) = input;
            foreach (var spec in specs)
            {
                var request = new PlacementRequest(spec, 1 + steps % 5, nodes);
                var a = Scheduler(PlacementIndexMode.Off).Place(request);
                var b = Scheduler(PlacementIndexMode.Always).Place(request);
                Assert.Equal(a.Failure?.Message, b.Failure?.Message);
                Assert.Equal(a.Placements.Select(p => (p.NodeId, p.Score)), b.Placements.Select(p => (p.NodeId, p.Score)));
            }
        }, iter: 1_000);

    private static string Name(ClusterState state, int node) => node < 0 ? "none" : $"{state.Node(node).Name} ({node})";
}
