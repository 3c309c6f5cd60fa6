using Microsoft.Extensions.Time.Testing;
using static VirtualCluster.Scheduling.Tests.PipelineKit;

namespace VirtualCluster.Scheduling.Tests;

/// <summary>
/// Capacity forecasts on virtual time: heartbeat samples every 10 s from a <see cref="FakeTimeProvider"/>. Only a
/// real leak gets a run-out time; joins, leaves, noise and bursts do not, and the first minutes say so.
/// </summary>
public class CapacityForecastTests
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(10);
    private static readonly ForecastRules Rules = new();
    private static readonly Resources Node = new(2000, 8 * Gi, 100 * Gi);

    /// <summary>One node's samples over <paramref name="duration"/>: measured memory from <paramref name="memory"/>(minute, sample index).</summary>
    private static List<UtilizationSample> Series(FakeTimeProvider time, TimeSpan duration, Func<double, int, long> memory, Resources? capacity = null)
    {
        var samples = new List<UtilizationSample>();
        var start = time.GetUtcNow();
        for (var i = 0; ; i++)
        {
            var minute = (time.GetUtcNow() - start).TotalMinutes;
            samples.Add(new UtilizationSample(time.GetUtcNow(), capacity ?? Node, new Resources(500, Gi, 0), new Resources(300 + i % 7 * 20, memory(minute, i), 40 * Gi)));
            if (time.GetUtcNow() - start + Every > duration) return samples; // the clock stands at the last sample
            time.Advance(Every);
        }
    }

    /// <summary>Deterministic noise, roughly normal (sum of uniforms), with the given standard deviation.</summary>
    private static Func<int, double> Noise(int seed, double sd)
    {
        var random = new Random(seed);
        var values = new Dictionary<int, double>();
        return i =>
        {
            if (!values.TryGetValue(i, out var v)) values[i] = v = (Enumerable.Range(0, 12).Sum(_ => random.NextDouble()) - 6) * sd;
            return v;
        };
    }

    private static ResourceForecast Memory(IReadOnlyList<ResourceForecast> forecasts) => forecasts.Single(f => f.Resource == "memory");

    [Fact]
    public void The_first_minutes_say_not_enough_history_and_how_much_more_is_needed()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        // A steep leak, but only 3 minutes of it: no trend, no run-out, 7 more minutes needed.
        var samples = Series(time, TimeSpan.FromMinutes(3), (m, _) => Gi + (long)(m * 200 * Mi));

        var forecasts = CapacityForecaster.Forecast(samples, Rules);

        Assert.All(forecasts, f =>
        {
            Assert.Equal(ForecastTrend.NotEnoughHistory, f.Trend);
            Assert.Null(f.ExhaustedAt);
            Assert.Equal(TimeSpan.FromMinutes(7), f.MoreHistoryNeeded);
        });
        Assert.Equal(Gi + 600 * Mi, Memory(forecasts).Used);
        Assert.Equal(Gi, Memory(forecasts).Allocated);
        var cluster = CapacityForecaster.Cluster([forecasts], time.GetUtcNow(), Rules);
        Assert.Equal(ForecastTrend.NotEnoughHistory, Memory(cluster).Trend);
        Assert.Null(Memory(cluster).ExhaustedAt);
    }

    [Fact]
    public void A_real_leak_runs_out_where_its_line_meets_capacity_for_every_noise_seed()
    {
        for (var seed = 0; seed < 50; seed++)
        {
            var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
            var noise = Noise(seed, 50 * Mi);
            // 2 GiB growing 2 GiB an hour, ±50 MiB of noise, for 30 minutes: 3 GiB now, 8 GiB at +2.5 h.
            var samples = Series(time, TimeSpan.FromMinutes(30), (m, i) => 2 * Gi + (long)(m / 60 * 2 * Gi + noise(i)));

            var memory = Memory(CapacityForecaster.Forecast(samples, Rules));

            Assert.Equal(ForecastTrend.Rising, memory.Trend);
            Assert.InRange(memory.TrendPerHour, 1.8 * Gi, 2.2 * Gi);
            Assert.True(memory.TrendLowPerHour > 0 && memory.TrendLowPerHour <= memory.TrendPerHour && memory.TrendPerHour <= memory.TrendHighPerHour);
            var left = memory.ExhaustedAt!.Value - time.GetUtcNow();
            Assert.InRange(left, TimeSpan.FromHours(2.2), TimeSpan.FromHours(2.8));
        }
    }

    [Fact]
    public void A_flat_noisy_series_has_no_clear_trend_and_never_runs_out()
    {
        var falseAlarms = 0;
        for (var seed = 0; seed < 100; seed++)
        {
            var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
            var noise = Noise(seed, 300 * Mi); // large noise around a flat 3 GiB
            var samples = Series(time, TimeSpan.FromMinutes(40), (_, i) => 3 * Gi + (long)noise(i));
            var forecasts = CapacityForecaster.Forecast(samples, Rules);
            if (forecasts.Any(f => f.ExhaustedAt is not null)) falseAlarms++;
            Assert.NotEqual(ForecastTrend.NotEnoughHistory, Memory(forecasts).Trend);
        }
        // A 95 % interval is wrong one time in 20 on each side at most; allow that, no more.
        Assert.InRange(falseAlarms, 0, 5);
        // Positive control: the very same noise on a slope that is small next to it is still found.
        var t = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var n = Noise(0, 300 * Mi);
        var sloped = Memory(CapacityForecaster.Forecast(Series(t, TimeSpan.FromMinutes(40), (m, i) => 3 * Gi + (long)(m / 60 * 1.5 * Gi + n(i))), Rules));
        Assert.Equal(ForecastTrend.Rising, sloped.Trend);
        Assert.NotNull(sloped.ExhaustedAt);
    }

    [Fact]
    public void A_burst_that_passes_is_not_a_trend()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var noise = Noise(7, 30 * Mi);
        // Flat 2 GiB with a 4 GiB spike from minute 14 to minute 18 of 30.
        var samples = Series(time, TimeSpan.FromMinutes(30), (m, i) => 2 * Gi + (m is >= 14 and < 18 ? 4 * Gi : 0) + (long)noise(i));

        var memory = Memory(CapacityForecaster.Forecast(samples, Rules));

        Assert.Equal(ForecastTrend.NoClearTrend, memory.Trend);
        Assert.Null(memory.ExhaustedAt);
    }

    [Fact]
    public void A_node_joining_is_a_step_in_the_clusters_capacity_and_use_not_a_trend()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var noiseA = Noise(1, 20 * Mi);
        var noiseB = Noise(2, 20 * Mi);
        var a = Series(time, TimeSpan.FromMinutes(30), (_, i) => 2 * Gi + (long)noiseA(i));
        // Node b joins three minutes before the end, already busy.
        var b = Series(new FakeTimeProvider(time.GetUtcNow() - TimeSpan.FromMinutes(3)), TimeSpan.FromMinutes(3), (_, i) => 6 * Gi + (long)noiseB(i));
        var now = time.GetUtcNow();
        var nodes = new[] { CapacityForecaster.Forecast(a, Rules), CapacityForecaster.Forecast(b, Rules) };

        var cluster = CapacityForecaster.Cluster(nodes, now, Rules);

        var memory = Memory(cluster);
        Assert.Equal(16 * Gi, memory.Capacity);
        Assert.Equal(a[^1].Used.MemoryBytes + b[^1].Used.MemoryBytes, memory.Used);
        Assert.Equal(2 * Gi, memory.Allocated);
        Assert.Equal(ForecastTrend.NoClearTrend, memory.Trend);
        Assert.All(cluster, f => Assert.Null(f.ExhaustedAt));
        // Positive control: the same step fitted as one cluster-wide series (the old way) looks like a leak.
        var total = a.Select(s => (s.At, s.Used.MemoryBytes + b.Where(x => x.At <= s.At).Select(x => x.Used.MemoryBytes).LastOrDefault())).ToList();
        var naive = CapacityForecaster.Forecast("memory", total, 16 * Gi, 2 * Gi, Rules);
        Assert.Equal(ForecastTrend.Rising, naive.Trend);
    }

    [Fact]
    public void A_node_leaving_drops_out_of_the_sums_without_a_falling_trend()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var (noiseA, noiseB) = (Noise(3, 20 * Mi), Noise(4, 20 * Mi));
        var a = Series(time, TimeSpan.FromMinutes(30), (_, i) => 2 * Gi + (long)noiseA(i));
        var b = Series(new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z")), TimeSpan.FromMinutes(30), (_, i) => 5 * Gi + (long)noiseB(i));
        // b leaves: the control plane stops listing it, so only a's row is summed.
        var before = CapacityForecaster.Cluster([CapacityForecaster.Forecast(a, Rules), CapacityForecaster.Forecast(b, Rules)], time.GetUtcNow(), Rules);
        time.Advance(Every);
        var after = CapacityForecaster.Cluster([CapacityForecaster.Forecast(a, Rules)], time.GetUtcNow(), Rules);

        Assert.Equal(16 * Gi, Memory(before).Capacity);
        Assert.Equal(8 * Gi, Memory(after).Capacity);
        Assert.Equal(a[^1].Used.MemoryBytes, Memory(after).Used);
        Assert.Equal(ForecastTrend.NoClearTrend, Memory(after).Trend);
        Assert.All(before.Concat(after), f => Assert.Null(f.ExhaustedAt));
    }

    [Fact]
    public void A_leak_on_one_node_makes_the_cluster_rise_and_a_capacity_change_starts_a_new_series()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var leaking = Series(time, TimeSpan.FromMinutes(30), (m, _) => Gi + (long)(m / 60 * 4 * Gi));
        var noise = Noise(5, 50 * Mi);
        var flat = Series(new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z")), TimeSpan.FromMinutes(30), (_, i) => 3 * Gi + (long)noise(i));

        var cluster = CapacityForecaster.Cluster([CapacityForecaster.Forecast(leaking, Rules), CapacityForecaster.Forecast(flat, Rules)], time.GetUtcNow(), Rules);

        Assert.Equal(ForecastTrend.Rising, Memory(cluster).Trend);
        Assert.InRange(Memory(cluster).TrendPerHour, 3.9 * Gi, 4.1 * Gi);
        Assert.NotNull(Memory(cluster).ExhaustedAt);
        // The leaking node rejoins with half the memory: its old samples no longer count.
        time.Advance(Every);
        var resized = leaking.Append(new UtilizationSample(time.GetUtcNow(), Node with { MemoryBytes = 4 * Gi }, Resources.Zero, new Resources(0, Gi, 0))).ToList();
        Assert.Equal(1, CapacityForecaster.SamplesUsed(resized, Rules));
        Assert.Equal(ForecastTrend.NotEnoughHistory, Memory(CapacityForecaster.Forecast(resized, Rules)).Trend);
    }

    [Fact]
    public void Rules_are_validated_with_the_property_named()
    {
        Assert.Empty(Rules.Validate());
        Assert.Contains(new ForecastRules { MinimumSamples = 2 }.Validate(), e => e.StartsWith("MinimumSamples", StringComparison.Ordinal));
        Assert.Contains(new ForecastRules { MinimumHistory = TimeSpan.FromHours(2) }.Validate(), e => e.StartsWith("MinimumHistory", StringComparison.Ordinal));
        Assert.Null(TrendFit.Fit([(0, 1), (1, 2)], 1.96));
        Assert.Equal(2, TrendFit.Fit([(0, 1), (1, 3), (2, 5), (3, 7)], 1.96)!.Value.Slope);
    }
}
