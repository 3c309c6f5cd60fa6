namespace VirtualCluster.Scheduling;

/// <summary>
/// Forecasts when a node's resources run out from its utilization history, and the cluster's from its nodes'.
/// </summary>
/// <remarks>
/// Per node and resource: the measured use of the samples taken since the node's capacity last changed (a node
/// rejoining with another size starts a new series) and within <see cref="ForecastRules.Window"/> of the newest is
/// averaged into at most <see cref="ForecastRules.MaxPoints"/> time buckets and fitted with <see cref="TrendFit"/>
/// (Theil–Sen). Until the series spans <see cref="ForecastRules.MinimumHistory"/> with
/// <see cref="ForecastRules.MinimumSamples"/> samples the answer is not-enough-history. Otherwise it is rising or
/// falling when the slope's confidence interval excludes zero, else no-clear-trend; only a rising trend has a run-out
/// time: last used + slope·h = capacity, i.e. h = (capacity − used) / slope hours after the last sample.
/// <para>
/// The cluster is never fitted as one series, because its total jumps each time a node joins or leaves and a fit
/// would read that step as growth. Instead each cluster figure is the sum of the node rows: capacity, allocated and
/// used add up, and the slope is the sum of the slopes of the nodes with enough history, its interval from their
/// intervals' half-widths added in quadrature (independent errors). A node without enough history adds its use
/// but no trend, so a join is a step in capacity and in use, not a slope.
/// </para>
/// </remarks>
public static class CapacityForecaster
{
    private static readonly string[] Names = [ResourceFilter.Cpu, ResourceFilter.Memory, ResourceFilter.Disk, ResourceFilter.Gpus];

    // Beyond a century "runs out" means nothing.
    private const double MaxHours = 24 * 365 * 100;

    /// <summary>A forecast per resource (cpu, memory, disk, gpus) of one node, from its samples, oldest first.</summary>
    public static IReadOnlyList<ResourceForecast> Forecast(IReadOnlyList<UtilizationSample> samples, ForecastRules rules)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(rules);
        var result = new List<ResourceForecast>(Names.Length);
        if (samples.Count == 0) return result;
        var series = CurrentSeries(samples, rules.Window);
        var last = series[^1];
        foreach (var name in Names)
        {
            var points = series.Select(s => (s.At, Pick(s.Used, name))).ToList();
            result.Add(Forecast(name, points, Pick(last.Capacity, name), Pick(last.Allocated, name), rules));
        }
        return result;
    }

    /// <summary>How many samples <see cref="Forecast(IReadOnlyList{UtilizationSample}, ForecastRules)"/> uses: those since the capacity last changed, within the window.</summary>
    public static int SamplesUsed(IReadOnlyList<UtilizationSample> samples, ForecastRules rules)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(rules);
        return samples.Count == 0 ? 0 : CurrentSeries(samples, rules.Window).Count;
    }

    /// <summary>The forecast of one resource from (time, measured use) points, oldest first.</summary>
    public static ResourceForecast Forecast(string resource, IReadOnlyList<(DateTimeOffset At, long Used)> points, long capacity, long allocated, ForecastRules rules)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(rules);
        if (points.Count == 0)
            return new ResourceForecast(resource, capacity, 0, 0, null, allocated, ForecastTrend.NotEnoughHistory, MoreHistoryNeeded: rules.MinimumHistory);
        var first = points[0].At;
        var last = points[^1];
        var span = last.At - first;
        if (span < rules.MinimumHistory || points.Count < rules.MinimumSamples)
        {
            return new ResourceForecast(resource, capacity, last.Used, 0, null, allocated, ForecastTrend.NotEnoughHistory,
                MoreHistoryNeeded: MoreNeeded(span, points.Count, rules));
        }
        var fit = TrendFit.Fit(Bucket(points, rules.MaxPoints), rules.ConfidenceZ);
        if (fit is not { } f)
            return new ResourceForecast(resource, capacity, last.Used, 0, null, allocated, ForecastTrend.NoClearTrend);
        var trend = Verdict(f.Low, f.High);
        var exhausted = trend == ForecastTrend.Rising ? RunsOut(last.At, capacity, last.Used, f.Slope) : null;
        return new ResourceForecast(resource, capacity, last.Used, Round(f.Slope), exhausted, allocated, trend, Round(f.Low), Round(f.High));
    }

    /// <summary>
    /// The cluster's row per resource as the sum of the node rows (see the remarks of <see cref="CapacityForecaster"/>).
    /// </summary>
    /// <param name="nodes">Each node's forecasts (as from <see cref="Forecast(IReadOnlyList{UtilizationSample}, ForecastRules)"/>).</param>
    /// <param name="now">When the sums hold (the run-out time counts from here).</param>
    /// <param name="rules">The same rules the nodes were forecast with.</param>
    public static IReadOnlyList<ResourceForecast> Cluster(IEnumerable<IReadOnlyList<ResourceForecast>> nodes, DateTimeOffset now, ForecastRules rules)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(rules);
        var all = nodes.ToList();
        var result = new List<ResourceForecast>(Names.Length);
        foreach (var name in Names)
        {
            var rows = all.SelectMany(n => n.Where(r => r.Resource == name)).ToList();
            long capacity = rows.Sum(r => r.Capacity), allocated = rows.Sum(r => r.Allocated), used = rows.Sum(r => r.Used);
            var fitted = rows.Where(r => r.Trend != ForecastTrend.NotEnoughHistory).ToList();
            if (fitted.Count == 0)
            {
                var needed = rows.Count == 0 ? rules.MinimumHistory : rows.Min(r => r.MoreHistoryNeeded ?? TimeSpan.Zero);
                result.Add(new ResourceForecast(name, capacity, used, 0, null, allocated, ForecastTrend.NotEnoughHistory, MoreHistoryNeeded: needed));
                continue;
            }
            var slope = fitted.Sum(r => r.TrendPerHour);
            // Each interval may be lopsided (Theil–Sen's is); combine the lower and upper half-widths separately.
            var below = Math.Sqrt(fitted.Sum(r => Square(r.TrendPerHour - r.TrendLowPerHour)));
            var above = Math.Sqrt(fitted.Sum(r => Square(r.TrendHighPerHour - r.TrendPerHour)));
            var trend = Verdict(slope - below, slope + above);
            var exhausted = trend == ForecastTrend.Rising ? RunsOut(now, capacity, used, slope) : null;
            result.Add(new ResourceForecast(name, capacity, used, Round(slope), exhausted, allocated, trend, Round(slope - below), Round(slope + above)));
        }
        return result;
    }

    /// <summary>The samples since the capacity last changed, within the window of the newest.</summary>
    private static List<UtilizationSample> CurrentSeries(IReadOnlyList<UtilizationSample> samples, TimeSpan window)
    {
        var last = samples[^1];
        var start = samples.Count - 1;
        while (start > 0 && samples[start - 1].Capacity == last.Capacity && samples[start - 1].At >= last.At - window) start--;
        return samples.Skip(start).ToList();
    }

    /// <summary>Means of equal time buckets (x in hours since the first point), at most <paramref name="maxPoints"/>, empty buckets skipped.</summary>
    private static List<(double X, double Y)> Bucket(IReadOnlyList<(DateTimeOffset At, long Used)> points, int maxPoints)
    {
        var origin = points[0].At;
        if (points.Count <= maxPoints) return points.Select(p => ((p.At - origin).TotalHours, (double)p.Used)).ToList();
        var span = (points[^1].At - origin).TotalHours;
        var sums = new (double X, double Y, int N)[maxPoints];
        foreach (var (at, used) in points)
        {
            var x = (at - origin).TotalHours;
            var k = Math.Min(maxPoints - 1, (int)(x / span * maxPoints));
            sums[k] = (sums[k].X + x, sums[k].Y + used, sums[k].N + 1);
        }
        return sums.Where(b => b.N > 0).Select(b => (b.X / b.N, b.Y / b.N)).ToList();
    }

    private static TimeSpan MoreNeeded(TimeSpan span, int count, ForecastRules rules)
    {
        var forSpan = rules.MinimumHistory - span;
        // Samples come at a steady pace: the missing ones take as long as the ones so far did, per sample.
        var perSample = count > 1 ? span / (count - 1) : TimeSpan.Zero;
        var forCount = perSample * Math.Max(0, rules.MinimumSamples - count);
        var needed = forSpan > forCount ? forSpan : forCount;
        return needed > TimeSpan.Zero ? needed : TimeSpan.Zero;
    }

    private static string Verdict(double low, double high) =>
        low > 0 ? ForecastTrend.Rising : high < 0 ? ForecastTrend.Falling : ForecastTrend.NoClearTrend;

    private static DateTimeOffset? RunsOut(DateTimeOffset from, long capacity, long used, double slopePerHour)
    {
        if (slopePerHour <= 0 || capacity <= 0) return null;
        var hours = (capacity - used) / slopePerHour;
        return hours <= 0 ? from : hours > MaxHours ? null : from + TimeSpan.FromHours(hours);
    }

    private static double Square(double x) => x * x;

    private static double Round(double x) => Math.Round(x, 3);

    private static long Pick(Resources r, string name) => name switch
    {
        ResourceFilter.Cpu => r.CpuMillicores,
        ResourceFilter.Memory => r.MemoryBytes,
        ResourceFilter.Disk => r.DiskBytes,
        _ => r.Gpus,
    };
}
