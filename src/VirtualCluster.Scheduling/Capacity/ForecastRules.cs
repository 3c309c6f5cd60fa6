namespace VirtualCluster.Scheduling;

/// <summary>When a capacity forecast may speak, and how sure it must be.</summary>
/// <remarks>
/// A trend fitted to a few seconds of samples turns noise or a single step into a slope ("disk runs out in 7 s"), so
/// no trend is fitted until a series spans <see cref="MinimumHistory"/> with at least <see cref="MinimumSamples"/>
/// samples, and none is reported unless its confidence interval excludes zero.
/// </remarks>
public sealed record ForecastRules
{
    /// <summary>How far back the trend is fitted. Default 1 h.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Least time between the first and last sample before a trend is fitted. Default 10 minutes.</summary>
    public TimeSpan MinimumHistory { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Least number of samples before a trend is fitted. Default 20.</summary>
    public int MinimumSamples { get; init; } = 20;

    /// <summary>
    /// Samples are averaged in equal time buckets down to at most this many points before fitting (Theil–Sen is
    /// quadratic in the points; averaging also damps noise). Default 120.
    /// </summary>
    public int MaxPoints { get; init; } = 120;

    /// <summary>Two-sided standard normal quantile of the slope's confidence interval. Default 1.96 (95 %).</summary>
    public double ConfidenceZ { get; init; } = 1.96;

    /// <summary>Every problem with these rules, each naming the property and a valid value; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Window <= TimeSpan.Zero) errors.Add("Window must be positive (e.g. 01:00:00).");
        if (MinimumHistory < TimeSpan.Zero || MinimumHistory > Window)
            errors.Add($"MinimumHistory must be between 0 and the window ({Window}); e.g. 00:10:00.");
        if (MinimumSamples < 3) errors.Add("MinimumSamples must be at least 3 (a trend needs three points to be told from noise).");
        if (MaxPoints is < 10 or > 1000) errors.Add("MaxPoints must be between 10 and 1000.");
        if (!(ConfidenceZ > 0 && ConfidenceZ < 10)) errors.Add("ConfidenceZ must be between 0 and 10 (1.96 for 95 %).");
        return errors;
    }
}
