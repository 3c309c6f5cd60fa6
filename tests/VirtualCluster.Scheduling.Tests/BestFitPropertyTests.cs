using CsCheck;

namespace VirtualCluster.Scheduling.Tests;

public class BestFitPropertyTests
{
    private static readonly Gen<NodeCandidate> NodeGen =
        Gen.Select(
            Gen.Select(Gen.Int[0, 9], Gen.Long[0, 4000], Gen.Long[0, 4096], Gen.Long[0, 100]),
            Gen.Select(Gen.Long[0, 4000], Gen.Long[0, 4096], Gen.Int[0, 6], Gen.Int[0, 9].Array[0, 6]),
            Gen.Frequency((8, Gen.Const(NodeState.Alive)), (1, Gen.Const(NodeState.Suspect)), (1, Gen.Const(NodeState.Down))),
            (capacity, use, state) =>
            {
                var (id, cpu, memory, disk) = capacity;
                var (usedCpu, usedMemory, portCount, used) = use;
                return new NodeCandidate(
                    new NodeInfo($"id-{id}", $"node-{id}", "127.0.0.1", new Resources(cpu, memory, disk), default,
                        ["process"], new PortRange(30000, 30000 + portCount - 1), new Dictionary<string, string>(), state, null),
                    // Allocations may exceed capacity (a node that shrank); the scheduler must still never add to them.
                    new Resources(usedCpu, usedMemory, 0),
                    used.Select(p => 30000 + p).ToHashSet(),
                    []);
            });

    private static readonly Gen<PlacementRequest> RequestGen =
        Gen.Select(NodeGen.Array[0, 6], Gen.Long[0, 2000], Gen.Long[0, 2048], Gen.Long[0, 50], Gen.Int[0, 3], Gen.Int[0, 8])
        .Select((nodes, cpu, memory, disk, ports, count) => new PlacementRequest(
            new ServiceSpec
            {
                Name = "svc",
                Driver = "process",
                Command = "run",
                Resources = new Resources(cpu, memory, disk),
                Ports = [.. Enumerable.Range(0, ports).Select(i => new PortSpec($"p{i}"))],
            },
            count,
            // Ids must be unique for per-node bookkeeping; the generator can repeat them.
            nodes.DistinctBy(n => n.Node.Id).ToList()));

    [Fact]
    public void NeverOvercommitsAndNeverReusesAPort() =>
        RequestGen.Sample(request =>
        {
            var result = new BestFitScheduler().Place(request);
            if (!result.Succeeded)
            {
                Assert.Empty(result.Placements);
                Assert.False(string.IsNullOrWhiteSpace(result.Failure!.Message));
                return;
            }

            Assert.Equal(request.Count, result.Placements.Count);
            foreach (var group in result.Placements.GroupBy(p => p.NodeId))
            {
                var node = request.Nodes.Single(n => n.Node.Id == group.Key);
                Assert.Equal(NodeState.Alive, node.Node.State);
                var added = request.Spec.Resources * group.Count();
                Assert.True(node.Free.Fits(added), $"{group.Count()} instances overcommit {node.Node.Name}");

                var ports = group.SelectMany(p => p.Ports.Values).ToList();
                Assert.Equal(ports.Count, ports.Distinct().Count());
                Assert.All(ports, port =>
                {
                    Assert.InRange(port, node.Node.Ports.First, node.Node.Ports.Last);
                    Assert.DoesNotContain(port, node.UsedPorts);
                });
            }
            Assert.All(result.Placements, p => Assert.Equal(request.Spec.Ports.Select(s => s.Name).Order(), p.Ports.Keys.Order()));
            Assert.All(result.Placements, p => Assert.InRange(p.Score, 0, 100));
        }, iter: 5_000);

    [Fact]
    public void OneInstanceFitsExactlyWhenSomeNodePassesEveryFilter() =>
        RequestGen.Sample(request =>
        {
            var single = request with { Count = 1 };
            var spec = single.Spec;
            var anyFits = single.Nodes.Any(n =>
                n.Node.State == NodeState.Alive
                && n.Free.Fits(spec.Resources)
                && Enumerable.Range(n.Node.Ports.First, Math.Max(0, n.Node.Ports.Count)).Count(p => !n.UsedPorts.Contains(p)) >= spec.Ports.Count);
            Assert.Equal(anyFits, new BestFitScheduler().Place(single).Succeeded);
        }, iter: 5_000);

    [Fact]
    public void InputOrderDoesNotMatter() =>
        RequestGen.Sample(request =>
        {
            var forward = new BestFitScheduler().Place(request);
            var backward = new BestFitScheduler().Place(request with { Nodes = request.Nodes.Reverse().ToList() });
            Assert.Equal(Describe(forward), Describe(backward));
        }, iter: 2_000);

    private static string Describe(PlacementResult result) =>
        result.Failure?.Message
        ?? string.Join(" | ", result.Placements.Select(p => $"{p.NodeId} {p.Score} {string.Join(",", p.Ports.OrderBy(e => e.Key).Select(e => $"{e.Key}={e.Value}"))}"));
}
