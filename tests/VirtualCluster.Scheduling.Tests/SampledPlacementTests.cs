using CsCheck;
using static VirtualCluster.Scheduling.Tests.PipelineKit;

namespace VirtualCluster.Scheduling.Tests;

/// <summary>
/// <see cref="SchedulerOptions.PercentageOfNodesToScore"/>: a sampled placement only ever chooses a node that passes
/// every filter, fails only when no node can take the instance, and (positive control) does trade the exact best for
/// looking at fewer nodes.
/// </summary>
public class SampledPlacementTests
{
    private static readonly Gen<(int Percentage, int Minimum)> SampleGen = Gen.Select(Gen.Int[1, 99], Gen.Int[1, 20]);

    [Fact]
    public void Sampled_placements_choose_only_feasible_nodes_and_fail_only_when_none_is() =>
        Gen.Select(PlacementIndexPropertyTests.ClusterGen, SampleGen).Sample((input, sample) =>
        {
            var (nodes, specs, steps) = input;
            var options = new SchedulerOptions { PercentageOfNodesToScore = sample.Percentage, MinNodesToScore = sample.Minimum, ReportScores = false };
            var state = new PipelineScheduler(options).CreateState(nodes);
            var pipeline = PlacementPipeline.Default;
            var made = new List<(ServiceSpec Spec, int Node, Dictionary<string, int> Ports)>();
            for (var step = 0; step < steps * 2; step++)
            {
                var spec = specs[step % specs.Length];
                var context = pipeline.CreateContext(state, spec);
                var found = pipeline.TrySelect(context, out var node, out var score);
                // The full list of feasible nodes on the same state, for the verdict to compare with.
                var anyFeasible = pipeline.Rank(context, 1).Count > 0;
                Assert.True(found == anyFeasible, $"step {step}: sampled found {found}, a feasible node exists: {anyFeasible}");
                if (!found) continue;
                Assert.True(pipeline.IsFeasible(context, node), $"step {step}: {state.Node(node).Name} does not pass every filter");
                Assert.InRange(score, 0, 100);
                made.Add((spec, node, state.Reserve(node, spec)));
                if (step % 3 == 2)
                {
                    var (s, n, p) = made[0];
                    made.RemoveAt(0);
                    state.Release(n, s, p.Values);
                }
            }
        }, iter: 2_000);

    [Fact]
    public void A_small_share_looks_at_fewer_nodes_and_can_miss_the_best_one_while_the_default_does_not()
    {
        // 1,000 empty nodes and one 90 % full node that sorts last: bin-packing's best choice.
        var nodes = Enumerable.Range(0, 1000).Select(i => Node($"n{i:D4}", allocated: i == 999 ? new Resources(3600, 7 * Gi, 0) : default)).ToList();
        var spec = Spec(cpu: 100, memory: 100 * Mi);
        var exact = new PipelineScheduler().Place(new PlacementRequest(spec, 1, nodes));
        Assert.Equal("id-n0999", Assert.Single(exact.Placements).NodeId);

        var sampled = new PipelineScheduler(new SchedulerOptions { PercentageOfNodesToScore = 10 });
        var state = sampled.CreateState(nodes);
        var pipeline = sampled.Pipeline;
        Assert.True(pipeline.TrySelect(pipeline.CreateContext(state, spec), out var first, out _));
        Assert.True(pipeline.TrySelect(pipeline.CreateContext(state, spec), out var second, out _));
        Assert.NotEqual("n0999", state.Node(first).Name);       // scored only the first ~100 nodes
        Assert.True(second >= 100, $"the second placement started where the first stopped, got node {second}");
    }

    [Fact]
    public void Out_of_range_settings_are_rejected_with_the_property_and_the_fix()
    {
        var errors = new SchedulerOptions { PercentageOfNodesToScore = 0, MinNodesToScore = 0 }.Validate();
        Assert.Contains(errors, e => e.Contains("PercentageOfNodesToScore is 0", StringComparison.Ordinal) && e.Contains("between 1 and 100", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("MinNodesToScore is 0", StringComparison.Ordinal));
        Assert.Contains(new SchedulerOptions { PercentageOfNodesToScore = 101 }.Validate(), e => e.Contains("PercentageOfNodesToScore", StringComparison.Ordinal));
        Assert.Empty(new SchedulerOptions().Validate());
    }
}
