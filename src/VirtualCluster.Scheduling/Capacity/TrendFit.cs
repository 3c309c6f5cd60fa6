namespace VirtualCluster.Scheduling;

/// <summary>A robust straight-line fit with a confidence interval for its slope.</summary>
/// <param name="Slope">Theil–Sen slope: the median of the slopes between every pair of points.</param>
/// <param name="Low">Lower end of Sen's confidence interval for the slope.</param>
/// <param name="High">Upper end of Sen's confidence interval for the slope.</param>
/// <remarks>
/// Theil (1950), Sen (1968). The slope is the median of (yⱼ − yᵢ)/(xⱼ − xᵢ) over all N pairs with xᵢ ≠ xⱼ, so one
/// burst or a few wild readings move it little (breakdown point ≈ 29 %), where least squares follows them. Sen's
/// interval is read off the same sorted slopes: with C = z·√(n(n−1)(2n+5)/18) (the standard deviation of Kendall's
/// S without ties, times the normal quantile z), the bounds are the slopes of rank (N − C)/2 and (N + C)/2 + 1.
/// An interval containing zero means the data cannot tell a trend from noise. The interval assumes independent
/// errors; heartbeat samples are averaged into buckets first (see <see cref="ForecastRules.MaxPoints"/>), which
/// makes that closer to true.
/// </remarks>
public readonly record struct TrendFit(double Slope, double Low, double High)
{
    /// <summary>Fits points (x, y); null when fewer than three points or fewer than two distinct x.</summary>
    public static TrendFit? Fit(IReadOnlyList<(double X, double Y)> points, double z)
    {
        ArgumentNullException.ThrowIfNull(points);
        var n = points.Count;
        if (n < 3) return null;
        var slopes = new List<double>(n * (n - 1) / 2);
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                var dx = points[j].X - points[i].X;
                if (dx != 0) slopes.Add((points[j].Y - points[i].Y) / dx);
            }
        }
        if (slopes.Count == 0) return null;
        slopes.Sort();
        var count = slopes.Count;
        var median = count % 2 == 1 ? slopes[count / 2] : (slopes[count / 2 - 1] + slopes[count / 2]) / 2;
        var c = z * Math.Sqrt(n * (n - 1.0) * (2.0 * n + 5) / 18.0);
        // 1-based ranks (N − C)/2 and (N + C)/2 + 1, rounded outwards so the interval is never narrower than stated.
        var lowRank = (int)Math.Floor((count - c) / 2);
        var highRank = (int)Math.Ceiling((count + c) / 2) + 1;
        var low = slopes[Math.Clamp(lowRank - 1, 0, count - 1)];
        var high = slopes[Math.Clamp(highRank - 1, 0, count - 1)];
        return new TrendFit(median, low, high);
    }
}
