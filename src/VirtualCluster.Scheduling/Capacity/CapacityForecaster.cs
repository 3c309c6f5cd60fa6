namespace VirtualCluster.Scheduling;

/// <summary>
/// Forecasts when resources run out from a utilization history: an ordinary least-squares line through the
/// samples of a window, y = a + b·t, extended until it meets capacity.
/// </summary>
/// <remarks>
/// b = Σ(tᵢ − t̄)(yᵢ − ȳ) / Σ(tᵢ − t̄)², a = ȳ − b·t̄ (t in hours since the first sample of the window). "Used now"
/// is the fitted value at the last sample, which smooths a single noisy reading. When b ≤ 0, or fewer than two
/// samples at distinct times fall in the window, the resource never runs out at the current trend (null).
/// When the fitted value already reaches capacity, the answer is the last sample's time.
/// </remarks>
public static class CapacityForecaster
{
    private static readonly string[] Names = [ResourceFilter.Cpu, ResourceFilter.Memory, ResourceFilter.Disk, ResourceFilter.Gpus];

    /// <summary>A forecast per resource (cpu, memory, disk, gpus) from the samples within <paramref name="window"/> of the newest.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The window is not positive.</exception>
    public static IReadOnlyList<ResourceForecast> Forecast(IReadOnlyList<UtilizationSample> samples, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (window <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(window), window, "the window must be positive");
        var result = new List<ResourceForecast>(Names.Length);
        if (samples.Count == 0) return result;
        var last = samples[^1];
        var inWindow = samples.Where(s => s.At >= last.At - window).ToList();
        foreach (var name in Names)
        {
            var points = inWindow.Select(s => (s.At, Pick(s.Used, name))).ToList();
            result.Add(Forecast(name, points, Pick(last.Capacity, name)));
        }
        return result;
    }

    /// <summary>The forecast of one resource from (time, used) points, oldest first.</summary>
    public static ResourceForecast Forecast(string resource, IReadOnlyList<(DateTimeOffset At, long Used)> points, long capacity)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count == 0) return new ResourceForecast(resource, capacity, 0, 0, null);
        var origin = points[0].At;
        var lastAt = points[^1].At;
        double n = points.Count, meanT = 0, meanY = 0;
        foreach (var (at, used) in points)
        {
            meanT += (at - origin).TotalHours;
            meanY += used;
        }
        meanT /= n;
        meanY /= n;
        double sxy = 0, sxx = 0;
        foreach (var (at, used) in points)
        {
            var dt = (at - origin).TotalHours - meanT;
            sxy += dt * (used - meanY);
            sxx += dt * dt;
        }
        if (sxx == 0) return new ResourceForecast(resource, capacity, points[^1].Used, 0, null);
        var slope = sxy / sxx;
        var now = meanY + slope * ((lastAt - origin).TotalHours - meanT);
        var usedNow = (long)Math.Round(Math.Max(0, now));
        DateTimeOffset? exhausted = null;
        if (slope > 0 && capacity > 0)
        {
            var hours = (capacity - now) / slope;
            exhausted = hours <= 0 ? lastAt : hours > 24 * 365 * 100 ? null : lastAt + TimeSpan.FromHours(hours);
        }
        return new ResourceForecast(resource, capacity, usedNow, Math.Round(slope, 3), exhausted);
    }

    private static long Pick(Resources r, string name) => name switch
    {
        ResourceFilter.Cpu => r.CpuMillicores,
        ResourceFilter.Memory => r.MemoryBytes,
        ResourceFilter.Disk => r.DiskBytes,
        _ => r.Gpus,
    };
}
