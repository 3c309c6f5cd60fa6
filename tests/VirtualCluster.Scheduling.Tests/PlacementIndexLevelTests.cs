using CsCheck;

namespace VirtualCluster.Scheduling.Tests;

/// <summary>
/// The index's request levels (one per spec: its exact request in every dimension, its static verdicts and affinity
/// scores; see PlacementIndex.Levels). Their maxima must equal a recount from the state bit for bit while placements
/// accumulate and are released (one changed node per bucket updates a level in place; several are recounted), and
/// choices must stay the full scan's, also when more specs arrive than there are levels.
/// </summary>
public class PlacementIndexLevelTests
{
    private static readonly PlacementPipeline Pipeline = PlacementPipeline.Default;

    private static ClusterState State(List<NodeCandidate> nodes, PlacementIndexMode mode) =>
        new PipelineScheduler(new SchedulerOptions { PlacementIndex = mode, ReportScores = false }).CreateState(nodes);

    [Fact]
    public void Spec_levels_equal_a_recount_and_choices_the_scans_while_placements_accumulate_and_are_released()
    {
        var totals = new PlacementIndex.Counters();
        PlacementIndexPropertyTests.ClusterGen.Sample(input =>
        {
            var (nodes, specs, steps) = input;
            var scan = State(nodes, PlacementIndexMode.Off);
            var indexed = State(nodes, PlacementIndexMode.Always);
            var index = indexed.IndexForSelection()!;
            var random = new Random(steps * 104729 + nodes.Count);
            var made = new List<(ServiceSpec Spec, int Node, Dictionary<string, int> Ports)>();
            for (var step = 0; step < steps * 3; step++)
            {
                var spec = specs[random.Next(specs.Length)];
                var a = Pipeline.TrySelect(Pipeline.CreateContext(scan, spec), out var nodeA, out var scoreA);
                var b = Pipeline.TrySelect(Pipeline.CreateContext(indexed, spec), out var nodeB, out var scoreB);
                Assert.True(a == b && nodeA == nodeB, $"step {step} {spec.Name}: scan chose {nodeA} ({a}), index chose {nodeB} ({b})");
                Assert.Equal(scoreA, scoreB);
                if (a)
                {
                    var portsA = scan.Reserve(nodeA, spec);
                    Assert.Equal(portsA, indexed.Reserve(nodeB, spec));
                    made.Add((spec, nodeA, portsA));
                }
                // Between two searches: nothing more, a release, or several changes (more than one node of a bucket).
                for (var extra = random.Next(3) == 0 ? random.Next(1, 4) : 0; extra > 0 && made.Count > 0; extra--)
                {
                    var k = random.Next(made.Count);
                    var (s, n, p) = made[k];
                    made.RemoveAt(k);
                    scan.Release(n, s, p.Values);
                    indexed.Release(n, s, p.Values);
                }
                if (random.Next(4) != 0) continue;
                Assert.Same(index, indexed.IndexForSelection());
                Assert.True(index.FiguresMatchRecount(), $"step {step}: kept figures or levels differ from a recount");
            }
            var stats = index.Stats;
            totals.LevelsAdded += stats.LevelsAdded;
            totals.LevelsRaised += stats.LevelsRaised;
            totals.LevelsKept += stats.LevelsKept;
            totals.LevelsRecounted += stats.LevelsRecounted;
        }, iter: 1_500);
        // Positive controls: levels were added, and each way of updating one was taken.
        Assert.True(totals.LevelsAdded > 0, "no request level was added");
        Assert.True(totals.LevelsRaised > 0, "no level was updated in place");
        Assert.True(totals.LevelsKept > 0, "no level was left as it was");
        Assert.True(totals.LevelsRecounted > 0, "no level was recounted");
    }

    [Fact]
    public void More_specs_than_levels_use_a_level_below_theirs_and_still_choose_the_scans_node()
    {
        var shared = 0L;
        Gen.Select(PlacementIndexPropertyTests.ClusterGen, Gen.Int[0, 1_000_000]).Sample(input =>
        {
            var ((nodes, specs, steps), seed) = input;
            var random = new Random(seed);
            // Specs of distinct requests, more than the index keeps levels for.
            var many = Enumerable.Range(0, PlacementIndex.MaxLevels + 8).Select(k =>
            {
                var template = specs[k % specs.Length];
                return template with
                {
                    Name = $"s{k % 5}",
                    Resources = template.Resources with { CpuMillicores = random.Next(0, 2500), MemoryBytes = random.Next(0, 5000) },
                };
            }).ToArray();
            var scan = State(nodes, PlacementIndexMode.Off);
            var indexed = State(nodes, PlacementIndexMode.Always);
            for (var step = 0; step < many.Length * 2; step++)
            {
                var spec = many[step % many.Length];
                var a = Pipeline.TrySelect(Pipeline.CreateContext(scan, spec), out var nodeA, out var scoreA);
                var b = Pipeline.TrySelect(Pipeline.CreateContext(indexed, spec), out var nodeB, out var scoreB);
                Assert.True(a == b && nodeA == nodeB, $"step {step} {spec.Name}: scan chose {nodeA} ({a}), index chose {nodeB} ({b})");
                Assert.Equal(scoreA, scoreB);
                if (!a || random.Next(2) == 0) continue;
                scan.Reserve(nodeA, spec);
                indexed.Reserve(nodeB, spec);
            }
            var index = indexed.IndexForSelection()!;
            Assert.True(index.LevelKeys.Length <= PlacementIndex.MaxLevels);
            Assert.True(index.FiguresMatchRecount());
            shared += index.Stats.LevelsShared;
        }, iter: 200);
        // Positive control: specs did find the levels full.
        Assert.True(shared > 0, "no spec had to use a level below its own");
    }
}
