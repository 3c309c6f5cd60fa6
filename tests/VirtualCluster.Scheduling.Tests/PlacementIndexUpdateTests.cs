using CsCheck;

namespace VirtualCluster.Scheduling.Tests;

/// <summary>
/// The index's lazy upkeep: reservations only mark their bucket, the next search recounts the marked buckets (or
/// skips those a release brought back), the layout is kept when no node's fill moved, and each search starts from
/// the spec's last choice. Every kept figure must equal a recount from the state, and the choice must stay the
/// full scan's, in the pattern the benchmark measures (place, release, place again) and in runs without releases.
/// </summary>
public class PlacementIndexUpdateTests
{
    private static readonly PlacementPipeline Pipeline = PlacementPipeline.Default;

    private static ClusterState State(List<NodeCandidate> nodes, PlacementIndexMode mode) =>
        new PipelineScheduler(new SchedulerOptions { PlacementIndex = mode, ReportScores = false }).CreateState(nodes);

    [Fact]
    public void Kept_figures_equal_a_recount_after_reservations_releases_and_flushes()
    {
        long recounted = 0, unchanged = 0;
        PlacementIndexPropertyTests.ClusterGen.Sample(input =>
        {
            var (nodes, specs, steps) = input;
            var state = State(nodes, PlacementIndexMode.Always);
            var index = state.IndexForSelection()!;
            var random = new Random(steps * 7919 + nodes.Count);
            var made = new List<(ServiceSpec Spec, int Node, Dictionary<string, int> Ports)>();
            for (var step = 0; step < steps * 3; step++)
            {
                var spec = specs[random.Next(specs.Length)];
                var node = random.Next(state.Count);
                switch (random.Next(4))
                {
                    case 0:
                        made.Add((spec, node, state.Reserve(node, spec)));
                        break;
                    case 1 when made.Count > 0:
                        var (s, n, p) = made[random.Next(made.Count)];
                        made.Remove((s, n, p));
                        state.Release(n, s, p.Values);
                        break;
                    case 2:
                        // Reserved and given back before the next search: the bucket is marked but unchanged.
                        var ports = state.Reserve(node, spec);
                        state.Release(node, spec, ports.Values);
                        break;
                    default:
                        state.ReserveResources(node, spec, spec.Ports.Count);
                        state.ReleaseResources(node, spec, random.Next(2) == 0 ? spec.Ports.Count : 0);
                        break;
                }
                if (random.Next(3) != 0) continue;
                Assert.Same(index, state.IndexForSelection());
                Assert.True(index.FiguresMatchRecount(), $"step {step}: kept figures differ from a recount");
            }
            state.IndexForSelection();
            Assert.True(index.FiguresMatchRecount(), "at the end: kept figures differ from a recount");
            recounted += index.Stats.BucketsRecounted;
            unchanged += index.Stats.BucketsUnchanged;
        }, iter: 1_000);
        // Positive controls: both paths of a flush were taken.
        Assert.True(recounted > 0, "no marked bucket was recounted");
        Assert.True(unchanged > 0, "no marked bucket was found unchanged");
    }

    [Fact]
    public void Place_release_and_repeated_specs_choose_the_full_scans_node()
    {
        long warm = 0, unchanged = 0;
        PlacementIndexPropertyTests.ClusterGen.Sample(input =>
        {
            var (nodes, specs, steps) = input;
            var scan = State(nodes, PlacementIndexMode.Off);
            var indexed = State(nodes, PlacementIndexMode.Always);
            var random = new Random(steps * 31 + nodes.Count);
            var kept = new List<(ServiceSpec Spec, int Node, Dictionary<string, int> Ports)>();
            for (var step = 0; step < steps * 2; step++)
            {
                // Runs of one spec (the warm start's case) mixed with round-robin.
                var spec = specs[random.Next(3) == 0 ? step % specs.Length : (step / 4) % specs.Length];
                var a = Pipeline.TrySelect(Pipeline.CreateContext(scan, spec), out var nodeA, out var scoreA);
                var b = Pipeline.TrySelect(Pipeline.CreateContext(indexed, spec), out var nodeB, out var scoreB);
                Assert.True(a == b && nodeA == nodeB, $"step {step} {spec.Name}: scan chose {nodeA} ({a}), index chose {nodeB} ({b})");
                Assert.Equal(scoreA, scoreB);
                if (!a) continue;
                var portsA = scan.Reserve(nodeA, spec);
                var portsB = indexed.Reserve(nodeB, spec);
                Assert.Equal(portsA, portsB);
                if (random.Next(2) == 0)
                {
                    // The benchmark's pattern: released at once, so the next search sees the same state.
                    scan.Release(nodeA, spec, portsA.Values);
                    indexed.Release(nodeB, spec, portsB.Values);
                }
                else
                {
                    kept.Add((spec, nodeA, portsA));
                }
                if (kept.Count > 0 && random.Next(5) == 0)
                {
                    var (s, n, p) = kept[0];
                    kept.RemoveAt(0);
                    scan.Release(n, s, p.Values);
                    indexed.Release(n, s, p.Values);
                }
            }
            var index = indexed.IndexForSelection()!;
            warm += index.Stats.WarmStarts;
            unchanged += index.Stats.BucketsUnchanged;
        }, iter: 2_000);
        Assert.True(warm > 0, "no search started from the spec's last choice");
        Assert.True(unchanged > 0, "no marked bucket was found unchanged");
    }

    [Fact]
    public void Layout_is_kept_when_fills_come_back_and_rebuilt_when_they_moved()
    {
        var nodes = Enumerable.Range(0, 64).Select(i => new NodeCandidate(
            new NodeInfo($"id-{i:D3}", $"node-{i:D3}", "127.0.0.1", new Resources(4000, 8192, 0, 0), default, ["process"],
                new PortRange(30000, 30009), new Dictionary<string, string>(), NodeState.Alive, null),
            new Resources(i % 4 * 1000, i % 3 * 2048, 0, 0), new HashSet<int>(), [])).ToList();
        var spec = new ServiceSpec { Name = "svc", Driver = "process", Command = "run", Resources = new Resources(500, 1024, 0, 0) };
        var state = State(nodes, PlacementIndexMode.Always);
        var index = state.IndexForSelection()!;
        var layout = index.Layout;
        // More than 2n updates, each reservation given back before the next flush: no fill moved.
        for (var k = 0; k < 3 * nodes.Count; k++)
        {
            state.ReserveResources(k % nodes.Count, spec);
            state.ReleaseResources(k % nodes.Count, spec);
            state.IndexForSelection();
        }
        Assert.Equal(layout, index.Layout);
        Assert.True(index.FiguresMatchRecount());
        // Positive control: the same number of updates that leave fills moved lays the leaves out again.
        for (var k = 0; k < 3 * nodes.Count; k++)
        {
            state.ReserveResources(k % nodes.Count, spec);
            if (k % 2 == 1) state.ReleaseResources(k % nodes.Count, spec);
        }
        state.IndexForSelection();
        Assert.NotEqual(layout, index.Layout);
        Assert.True(index.FiguresMatchRecount());
    }
}
