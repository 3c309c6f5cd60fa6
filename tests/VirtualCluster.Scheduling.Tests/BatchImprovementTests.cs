using System.Diagnostics;
using CsCheck;

namespace VirtualCluster.Scheduling.Tests;

/// <summary>The improvement phase of <see cref="BatchAlgorithm.Best"/> and <see cref="BinPacking"/>: never worse, never infeasible, within its deadline.</summary>
public class BatchImprovementTests
{
    private const long Unit = 10;

    /// <summary>Anti-correlated items (half CPU-heavy, half memory-heavy), the shape where greedy packing loses machines.</summary>
    private static readonly Gen<Resources[]> AntiCorrelated =
        Gen.Select(Gen.Int[300, 650], Gen.Int[50, 300], Gen.Bool)
            .Select((main, side, cpuHeavy) => cpuHeavy ? new Resources(main * Unit, side * Unit, 0) : new Resources(side * Unit, main * Unit, 0))
            .Array[10, 60];

    private static readonly Gen<Resources[]> Mixed =
        Gen.Select(Gen.Int[10, 700], Gen.Int[10, 700]).Select((c, m) => new Resources(c * Unit, m * Unit, 0)).Array[1, 60];

    private static Resources[] Bins(int count) => [.. Enumerable.Repeat(new Resources(1000 * Unit, 1000 * Unit, 0), count)];

    private static void AssertFits(Resources[] items, Resources[] bins, BinPackingResult result)
    {
        Assert.True(result.Succeeded, result.Failure);
        Assert.Equal(items.Length, result.BinOfItem.Count);
        var load = new Resources[bins.Length];
        for (var k = 0; k < items.Length; k++) load[result.BinOfItem[k]] += items[k];
        for (var b = 0; b < bins.Length; b++) Assert.True(bins[b].Fits(load[b]), $"bin {b} holds {load[b]} over {bins[b]}");
        Assert.Equal(result.BinOfItem.Distinct().Count(), result.BinsUsed);
    }

    [Fact]
    public void Improvement_never_uses_more_bins_than_the_greedy_best_and_every_bin_fits() =>
        Gen.OneOf(AntiCorrelated, Mixed).Sample(items =>
        {
            var bins = Bins(items.Length);
            var greedy = BinPacking.Pack(items, bins, new BatchOptions { ImprovementBudget = TimeSpan.Zero });
            var improved = BinPacking.Pack(items, bins, new BatchOptions { ImprovementBudget = TimeSpan.FromMilliseconds(200) });
            AssertFits(items, bins, greedy);
            AssertFits(items, bins, improved);
            Assert.True(improved.BinsUsed <= greedy.BinsUsed, $"improved {improved.BinsUsed} > greedy {greedy.BinsUsed}");
        }, iter: 300);

    [Fact]
    public void Improvement_frees_machines_on_anti_correlated_sets_where_greedy_packing_loses_them()
    {
        // Positive control for the property above: the phase does something.
        var freed = 0;
        for (var seed = 1; seed <= 20; seed++)
        {
            var random = new Random(seed);
            var items = Enumerable.Range(0, 60).Select(i =>
            {
                long main = random.Next(300, 651) * Unit, side = random.Next(50, 301) * Unit;
                return i % 2 == 0 ? new Resources(main, side, 0) : new Resources(side, main, 0);
            }).ToArray();
            var bins = Bins(items.Length);
            var greedy = BinPacking.Pack(items, bins, new BatchOptions { ImprovementBudget = TimeSpan.Zero });
            var improved = BinPacking.Pack(items, bins, new BatchOptions { ImprovementBudget = TimeSpan.FromSeconds(1) });
            AssertFits(items, bins, improved);
            freed += greedy.BinsUsed - improved.BinsUsed;
        }
        Assert.True(freed > 0, "the improvement phase freed no machine on 20 anti-correlated sets");
    }

    [Fact]
    public void Improvement_on_unequal_bins_with_disk_and_gpus_keeps_every_dimension_within_its_bin() =>
        Gen.Select(
            Gen.Select(Gen.Int[0, 600], Gen.Int[0, 600], Gen.Int[0, 300], Gen.Int[0, 1]).Select((c, m, d, g) => new Resources(c * Unit, m * Unit, d * Unit, g)).Array[1, 40],
            Gen.Select(Gen.Int[600, 2000], Gen.Int[600, 2000], Gen.Int[0, 1000], Gen.Int[0, 2]).Select((c, m, d, g) => new Resources(c * Unit, m * Unit, d * Unit, g)).Array[1, 40])
        .Sample((items, bins) =>
        {
            var greedy = BinPacking.Pack(items, bins, new BatchOptions { ImprovementBudget = TimeSpan.Zero });
            var improved = BinPacking.Pack(items, bins, new BatchOptions { ImprovementBudget = TimeSpan.FromMilliseconds(30) });
            Assert.Equal(greedy.Succeeded, improved.Succeeded);
            if (!greedy.Succeeded) return;
            AssertFits(items, bins, improved);
            Assert.True(improved.BinsUsed <= greedy.BinsUsed, $"improved {improved.BinsUsed} > greedy {greedy.BinsUsed}");
        }, iter: 300);

    /// <summary>k bins' worth of items that fill each bin exactly (a CPU-heavy, a memory-heavy and a filler), shuffled: k is optimal.</summary>
    private static Resources[] ExactFills(int bins, Random random)
    {
        var items = new List<Resources>();
        for (var b = 0; b < bins; b++)
        {
            long c1 = random.Next(400, 651), m1 = random.Next(50, 301), c2 = random.Next(50, 301), m2 = random.Next(400, 651);
            items.Add(new Resources(c1 * Unit, m1 * Unit, 0));
            items.Add(new Resources(c2 * Unit, m2 * Unit, 0));
            items.Add(new Resources((1000 - c1 - c2) * Unit, (1000 - m1 - m2) * Unit, 0));
        }
        return [.. items.OrderBy(_ => random.Next())];
    }

    [Fact]
    public void Improvement_reaches_the_optimum_on_sets_that_fill_every_machine_exactly()
    {
        // The optimum is known by construction; the greedy passes miss it on most seeds (positive control).
        var greedyMissed = 0;
        for (var seed = 1; seed <= 10; seed++)
        {
            var items = ExactFills(20, new Random(seed));
            var bins = Bins(items.Length);
            var greedy = BinPacking.Pack(items, bins, new BatchOptions { ImprovementBudget = TimeSpan.Zero });
            // A clock that never moves: the search runs to its step limit, so the outcome does not depend on the machine's load.
            var improved = BinPacking.Pack(items, bins, new BatchOptions { TimeProvider = new FrozenClock() });
            AssertFits(items, bins, improved);
            if (greedy.BinsUsed > 20) greedyMissed++;
            Assert.True(improved.BinsUsed <= 20, $"seed {seed}: {improved.BinsUsed} machines where 20 suffice (greedy {greedy.BinsUsed})");
        }
        Assert.True(greedyMissed > 0, "the greedy passes found the optimum on every seed: the sets no longer test the improvement");
    }

    [Fact]
    public void The_same_seed_gives_the_same_layout_when_the_clock_does_not_move()
    {
        // A clock that never moves: the search ends on its step limit, so the layout depends only on the input and seed.
        var random = new Random(11);
        var items = Enumerable.Range(0, 60).Select(i => i % 2 == 0
            ? new Resources(random.Next(300, 651) * Unit, random.Next(50, 301) * Unit, 0)
            : new Resources(random.Next(50, 301) * Unit, random.Next(300, 651) * Unit, 0)).ToArray();
        var bins = Bins(items.Length);
        BinPackingResult Run(int seed) => BinPacking.Pack(items, bins, new BatchOptions { Seed = seed, TimeProvider = new FrozenClock() });
        var first = Run(7);
        var second = Run(7);
        AssertFits(items, bins, first);
        Assert.Equal(first.BinOfItem, second.BinOfItem);
        Assert.True(first.BinsUsed <= BinPacking.Pack(items, bins, new BatchOptions { ImprovementBudget = TimeSpan.Zero }).BinsUsed);
    }

    [Fact]
    public void Best_on_a_kept_state_keeps_every_rule_and_never_uses_more_nodes_than_without_improvement() =>
        Gen.Select(Gen.Int[2, 12], Gen.Int[1, 8], Gen.Int[0, 6], Gen.Int[0, 2], Gen.Int[0, 3]).Sample((nodeCount, replicas, others, zoneRule, ports) =>
        {
            var nodes = Enumerable.Range(0, nodeCount).Select(i => Build.Node($"n{i}", cpu: 4000, memory: 8 * Build.Gi,
                labels: $"zone={"abc"[i % 3]}", ports: 2 + i % 3, usedPorts: i % 2 == 0 ? [20000] : null,
                services: i % 4 == 0 ? ["api"] : null, allocated: new Resources(i % 3 * 500, i % 2 * Build.Gi, 0))).ToList();
            BatchItem[] items =
            [
                new(Build.Spec("api", cpu: 1500, memory: 1 * Build.Gi, ports: ports % 2, antiAffinity: zoneRule == 0 ? AntiAffinityMode.Required : AntiAffinityMode.None), replicas),
                new(Build.Spec("worker", cpu: 300, memory: 3 * Build.Gi, constraints: zoneRule == 1 ? "zone=a" : ""), others),
                new(Build.Spec("spread", cpu: 200, memory: 256 * Build.Mi, spreadOver: zoneRule == 2 ? "zone" : null), 2),
            ];
            var scheduler = new PipelineScheduler();
            var plain = BatchPlacer.Place(scheduler, scheduler.CreateState(nodes), items, BatchAlgorithm.Best, new BatchOptions { ImprovementBudget = TimeSpan.Zero });
            var state = scheduler.CreateState(nodes);
            var improved = BatchPlacer.Place(scheduler, state, items, BatchAlgorithm.Best);
            Assert.Equal(plain.Succeeded, improved.Succeeded);
            if (!improved.Succeeded) return;
            Assert.True(improved.NodesUsed <= plain.NodesUsed);
            Assert.Equal(improved.NodesUsed, BatchPlacer.NodesUsed(state));
            // Replaying the placements one by one on a fresh state must find each node still feasible, ports unused.
            var replay = scheduler.CreateState(nodes);
            foreach (var item in items)
            {
                var placements = improved.Placements.GetValueOrDefault(item.Spec.Name) ?? [];
                Assert.Equal(item.Count, placements.Count);
                foreach (var p in placements)
                {
                    var i = replay.IndexOf(p.NodeId);
                    Assert.True(PlacementPipeline.Default.IsFeasible(PlacementPipeline.Default.CreateContext(replay, item.Spec), i), $"{item.Spec.Name} on {p.NodeId}");
                    Assert.DoesNotContain(p.Ports.Values, port => nodes.Single(n => n.Node.Id == p.NodeId).UsedPorts.Contains(port));
                    replay.ReserveResources(i, item.Spec, item.Spec.Ports.Count);
                }
            }
        }, iter: 500);

    [Fact]
    public void The_improvement_phase_stops_at_its_deadline()
    {
        // A clock that moves 1 ms each time it is read: the phase may read it only a few times past its 20 ms budget.
        var clock = new SteppingClock(TimeSpan.FromMilliseconds(1));
        var random = new Random(5);
        var items = Enumerable.Range(0, 400).Select(i => i % 2 == 0
            ? new Resources(random.Next(300, 651) * Unit, random.Next(50, 301) * Unit, 0)
            : new Resources(random.Next(50, 301) * Unit, random.Next(300, 651) * Unit, 0)).ToArray();
        var result = BinPacking.Pack(items, Bins(items.Length), new BatchOptions { ImprovementBudget = TimeSpan.FromMilliseconds(20), TimeProvider = clock });
        AssertFits(items, Bins(items.Length), result);
        Assert.InRange(clock.Reads, 1, 20 + 10);

        // With the real clock: a 50 ms budget on 2,000 items ends well within a generous bound (not a speed test).
        var many = Enumerable.Range(0, 2000).Select(i => items[i % items.Length]).ToArray();
        var watch = Stopwatch.StartNew();
        var big = BinPacking.Pack(many, Bins(many.Length), new BatchOptions { ImprovementBudget = TimeSpan.FromMilliseconds(50) });
        watch.Stop();
        Assert.True(big.Succeeded);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"took {watch.Elapsed}");
    }

    [Fact]
    public void Items_that_need_nothing_are_packed_and_cost_no_bin()
    {
        Resources[] items = [Resources.Zero, new(600 * Unit, 100 * Unit, 0), Resources.Zero, new(100 * Unit, 600 * Unit, 0), new(300 * Unit, 300 * Unit, 0)];
        var bins = Bins(items.Length);
        var result = BinPacking.Pack(items, bins, new BatchOptions { TimeProvider = new FrozenClock() });
        Assert.True(result.Succeeded, result.Failure);
        var load = new Resources[bins.Length];
        for (var k = 0; k < items.Length; k++) load[result.BinOfItem[k]] += items[k];
        Assert.All(Enumerable.Range(0, bins.Length), b => Assert.True(bins[b].Fits(load[b])));
        Assert.Equal(1, load.Count(l => l != Resources.Zero));  // the three that need something share one bin

        // One that may only go to a node nothing else uses: it sits on a node not in use, which the search skips.
        var nodes = new[] { Build.Node("a", cpu: 4000, memory: 8 * Build.Gi, labels: "zone=a"), Build.Node("b", cpu: 4000, memory: 8 * Build.Gi, labels: "zone=a"),
            Build.Node("c", cpu: 4000, memory: 8 * Build.Gi, labels: "zone=b") };
        BatchItem[] batch = [new(Build.Spec("idle", cpu: 0, memory: 0, constraints: "zone=b"), 1), new(Build.Spec("web", cpu: 1000, memory: Build.Gi, antiAffinity: AntiAffinityMode.None), 5)];
        var scheduler = new PipelineScheduler();
        var placed = BatchPlacer.Place(scheduler, scheduler.CreateState(nodes), batch, BatchAlgorithm.Best, new BatchOptions { TimeProvider = new FrozenClock() });
        Assert.True(placed.Succeeded, placed.Failure?.Message);
        Assert.Equal("id-c", Assert.Single(placed.Placements["idle"]).NodeId);
        Assert.Equal(2, placed.NodesUsed);  // five 1-CPU instances on 4-CPU nodes
    }

    [Fact]
    public void Bin_packing_rejects_hostile_input_with_the_reason()
    {
        var error = Assert.Throws<ArgumentException>(() => BinPacking.Pack([new Resources(-1, 0, 0)], Bins(1)));
        Assert.Contains("item 0", error.Message);
        Assert.Contains("no bins", BinPacking.Pack([new Resources(1, 1, 0)], []).Failure);
        Assert.False(BinPacking.Pack([new Resources(2000 * Unit, 1, 0)], Bins(2)).Succeeded);
        Assert.Throws<ArgumentException>(() => BinPacking.Pack([], [], new BatchOptions { ImprovementBudget = TimeSpan.FromMinutes(-1) }).ToString());
    }

    private sealed class FrozenClock : TimeProvider
    {
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => 0;
    }

    private sealed class SteppingClock(TimeSpan step) : TimeProvider
    {
        private long _now;

        public int Reads { get; private set; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp()
        {
            Reads++;
            return _now += step.Ticks;
        }
    }
}
