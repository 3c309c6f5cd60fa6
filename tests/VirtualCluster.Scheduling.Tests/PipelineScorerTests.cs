using static VirtualCluster.Scheduling.Tests.PipelineKit;

namespace VirtualCluster.Scheduling.Tests;

/// <summary>Each scorer against the formula in its XML docs, with values worked out by hand.</summary>
public class PipelineScorerTests
{
    // 4 cores / 8 GiB; 1 core and 2 GiB reserved; request 1 core and 2 GiB → cpu share 0.5, memory share 0.5.
    private static NodeCandidate Half => Node("half", allocated: new Resources(1000, 2 * Gi, 0));

    // cpu share after placing 0.75, memory share 0.25.
    private static NodeCandidate Skewed => Node("skewed", allocated: new Resources(2000, 0, 0));

    private static ServiceSpec Request => Spec(cpu: 1000, memory: 2 * Gi);

    [Fact]
    public void Most_allocated_is_100_times_the_mean_share_after_placing()
    {
        Assert.Equal([50.0, 50.0], Scores(new MostAllocatedScorer(), Request, Half, Skewed), Tolerance);
        // Disk counts when requested: shares 0.5, 0.5 and 50/100 → 50; with 10 GiB of 100: (0.5 + 0.5 + 0.1) / 3.
        Assert.Equal(100 * 1.1 / 3, Scores(new MostAllocatedScorer(), Spec(cpu: 1000, memory: 2 * Gi, disk: 10 * Gi), Half)[0], 6);
    }

    [Fact]
    public void Least_allocated_is_100_times_the_mean_free_share_after_placing() =>
        Assert.Equal([50.0, 50.0], Scores(new LeastAllocatedScorer(), Request, Half, Skewed), Tolerance);

    [Fact]
    public void Balanced_is_100_times_one_minus_the_standard_deviation_of_shares()
    {
        // half: shares equal → 100. skewed: 0.75 and 0.25 → σ = 0.25 → 75.
        Assert.Equal([100.0, 75.0], Scores(new BalancedAllocationScorer(), Request, Half, Skewed), Tolerance);
        // Three dimensions: 0.5, 0.5, 0.2 → mean 0.4, σ = sqrt((0.01 + 0.01 + 0.04) / 3) ≈ 0.1414.
        var three = Scores(new BalancedAllocationScorer(), Spec(cpu: 1000, memory: 2 * Gi, disk: 20 * Gi), Half)[0];
        Assert.Equal(100 * (1 - Math.Sqrt(0.06 / 3)), three, 6);
    }

    [Fact]
    public void Anti_affinity_is_100_times_one_minus_replicas_here_over_replicas_plus_one()
    {
        var spec = Spec(anti: AntiAffinityMode.Preferred);
        // Two replicas in the cluster (T = 2), one on "a": 100 × (1 − 1/3); none on "b": 100.
        var scores = Scores(new ServiceAntiAffinityScorer(), spec, Node("a", services: ["web"]), Node("b"), Node("c", services: ["web"]));
        Assert.Equal([100 * (1 - 1 / 3.0), 100, 100 * (1 - 1 / 3.0)], scores, Tolerance);
        var state = ClusterState.From([Node("a")]);
        Assert.False(new ServiceAntiAffinityScorer().AppliesTo(PlacementPipeline.Default.CreateContext(state, spec)));
    }

    [Fact]
    public void Node_affinity_is_100_times_matched_plus_negative_over_positive_plus_negative()
    {
        NodeAffinity[] affinity = [new("disk", "ssd", 80), new("tier", "old", -30)];
        var spec = Spec(affinity: affinity);
        var scores = Scores(new NodeAffinityScorer(), spec,
            Node("a", labels: Labels("disk=ssd")), Node("b", labels: Labels("disk=ssd", "tier=old")), Node("c", labels: Labels("tier=old")), Node("d"));
        Assert.Equal([100.0, 100 * 80 / 110.0, 0, 100 * 30 / 110.0], scores, Tolerance);
        var positiveOnly = Scores(new NodeAffinityScorer(), Spec(affinity: [new("disk", "ssd", 10)]), Node("a", labels: Labels("disk=ssd")), Node("b"));
        Assert.Equal([100.0, 0], positiveOnly, Tolerance);
    }

    [Fact]
    public void Topology_spread_is_100_times_room_below_the_fullest_domain()
    {
        var spec = Spec(spread: [new TopologySpread("zone", 5)]);
        // zone a holds 2 replicas, b none → M = 3: a scores 100 × 1/3, b 100; no label → 0.
        var scores = Scores(new TopologySpreadScorer(), spec,
            Node("a1", labels: Labels("zone=a"), services: ["web", "web"]), Node("b1", labels: Labels("zone=b")), Node("x"));
        Assert.Equal([100 / 3.0, 100, 0], scores, Tolerance);
    }

    [Fact]
    public void Final_score_is_the_weighted_mean_of_the_scorers_that_apply()
    {
        // binpack without anti-affinity, affinity or spread: (2 × most-allocated + 1 × balanced) / 3.
        var state = ClusterState.From([Skewed]);
        var context = PlacementPipeline.Default.CreateContext(state, Request);
        var score = PlacementPipeline.Default.ScoreNode(context, 0);
        Assert.Equal((2 * 50 + 75) / 3.0, score.Total, 2);
        Assert.Equal(["balanced", "most-allocated"], score.Scorers.Keys.Order());
        Assert.True(PlacementPipeline.Default.TrySelect(context, out _, out var selected));
        Assert.Equal(score.Total, selected, 2);
    }

    private static readonly Comparer Tolerance = new();

    private sealed class Comparer : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) < 1e-6;

        public int GetHashCode(double obj) => 0;
    }
}
