using CsCheck;

namespace VirtualCluster.FailureDetection.Tests;

public sealed class IntervalWindowTests
{
    [Fact]
    public void Mean_and_variance_are_those_of_the_last_capacity_intervals()
    {
        var window = new IntervalWindow(3);
        foreach (var value in new long[] { 100, 200, 300, 400, 500 }) window.Add(value);

        Assert.Equal(3, window.Count);
        Assert.Equal(400, window.Mean);
        Assert.Equal(20_000.0 / 3, window.Variance, 6); // population variance of 300, 400, 500
    }

    [Fact]
    public void Running_sums_match_a_direct_computation_for_any_sequence()
    {
        Gen.Select(Gen.Long[0, 3_600_000_000].Array[1, 400], Gen.Int[2, 64]).Sample((values, capacity) =>
        {
            var window = new IntervalWindow(capacity);
            foreach (var v in values) window.Add(v);
            var last = values.TakeLast(capacity).Select(v => (decimal)v).ToArray();
            var mean = last.Average();
            var variance = last.Select(v => (v - mean) * (v - mean)).Sum() / last.Length;
            Assert.Equal(last.Length, window.Count);
            Assert.Equal((double)mean, window.Mean, Math.Max(1e-9, (double)mean * 1e-12));
            Assert.True(Math.Abs((double)variance - window.Variance) <= Math.Max(1e-6, (double)variance * 1e-9),
                $"variance {window.Variance}, expected {variance}");
        });
    }

    [Fact]
    public void Identical_intervals_have_exactly_zero_variance_after_millions_of_updates()
    {
        var window = new IntervalWindow(100);
        for (var i = 0; i < 2_000_000; i++) window.Add(i % 2 == 0 ? 499_999 : 500_001);
        for (var i = 0; i < 100; i++) window.Add(500_000);
        Assert.Equal(500_000, window.Mean);
        Assert.Equal(0, window.Variance);
    }

    [Fact]
    public void Intervals_are_clamped_to_zero_and_a_day()
    {
        var window = new IntervalWindow(2);
        window.Add(-5);
        window.Add(long.MaxValue);
        Assert.Equal(IntervalWindow.MaxIntervalMicros / 2.0, window.Mean);
    }

    [Fact]
    public void Clear_empties_the_window()
    {
        var window = new IntervalWindow(4);
        window.Add(10);
        window.Clear();
        Assert.Equal(0, window.Count);
        Assert.Equal(0, window.Mean);
        window.Add(7);
        Assert.Equal(7, window.Mean);
    }
}
