using Microsoft.Extensions.Options;

namespace VirtualCluster.Monitoring.History;

/// <summary>
/// One resolution of the history: points <paramref name="Step"/> apart, stored in blocks of
/// <paramref name="BlockLength"/> (one store key per series and block), kept for <paramref name="Retention"/>.
/// </summary>
public sealed record HistoryTier(TimeSpan Step, TimeSpan BlockLength, TimeSpan Retention)
{
    /// <summary>"10s", "1m", "15m": how the resolution is named in answers.</summary>
    public string Name => Step.TotalMinutes >= 1 && Step.TotalMinutes % 1 == 0 ? $"{Step.TotalMinutes:0}m" : $"{Step.TotalSeconds:0}s";
}

/// <summary>Metrics history kept in the cluster store: its resolutions and bounds.</summary>
public sealed class HistoryOptions
{
    /// <summary>Whether the control plane keeps history at all. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Resolutions, finest first; each step a multiple of the one before. Default: 10-second points for an hour,
    /// 1-minute points for a day, 15-minute points for 31 days (so a month of history is about 4,700 points per metric).
    /// </summary>
    public List<HistoryTier> Tiers { get; set; } =
    [
        new(TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(10), TimeSpan.FromHours(1)),
        new(TimeSpan.FromMinutes(1), TimeSpan.FromHours(2), TimeSpan.FromDays(1)),
        new(TimeSpan.FromMinutes(15), TimeSpan.FromDays(1), TimeSpan.FromDays(31)),
    ];

    /// <summary>How often changed blocks are written to the store; at most this much is lost on a crash. Default 30 s.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often blocks past their tier's retention are deleted. Default 10 minutes.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Most series kept (nodes plus services); samples of further series are dropped and logged. Default 20,000.</summary>
    public int MaxSeries { get; set; } = 20_000;

    /// <summary>Most points one query may ask for (range divided by step), as Prometheus bounds it. Default 11,000.</summary>
    public int MaxPointsPerQuery { get; set; } = 11_000;

    /// <summary>Key prefix of the history in the key-value store (beside the cluster state). Default <c>metrics-history/</c>.</summary>
    public string KeyPrefix { get; set; } = "metrics-history/";
}

/// <summary>Checks <see cref="HistoryOptions"/> at start and names every problem with its fix.</summary>
public sealed class HistoryOptionsValidator : IValidateOptions<HistoryOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, HistoryOptions options)
    {
        var errors = new List<string>();
        if (options.Tiers is not { Count: > 0 and <= 8 })
            errors.Add("HistoryOptions.Tiers must list 1 to 8 resolutions, finest first, e.g. 10s for 1h, 1m for 1d, 15m for 31d.");
        else
        {
            for (var i = 0; i < options.Tiers.Count; i++)
            {
                var t = options.Tiers[i];
                if (t.Step < TimeSpan.FromSeconds(1) || t.Step.Ticks % TimeSpan.TicksPerSecond != 0)
                    errors.Add($"HistoryOptions.Tiers[{i}].Step is {t.Step}; it must be a whole number of seconds, at least 1.");
                else if (t.BlockLength < t.Step || t.BlockLength.Ticks % t.Step.Ticks != 0 || t.BlockLength.Ticks / t.Step.Ticks > 2_000)
                    errors.Add($"HistoryOptions.Tiers[{i}].BlockLength is {t.BlockLength}; it must be a multiple of the step ({t.Step}) holding at most 2,000 points.");
                else if (t.Retention < t.BlockLength)
                    errors.Add($"HistoryOptions.Tiers[{i}].Retention is {t.Retention}; it must be at least one block ({t.BlockLength}).");
                if (i > 0 && (t.Step <= options.Tiers[i - 1].Step || t.Step.Ticks % options.Tiers[i - 1].Step.Ticks != 0))
                    errors.Add($"HistoryOptions.Tiers[{i}].Step is {t.Step}; each step must be a larger multiple of the one before ({options.Tiers[i - 1].Step}).");
            }
        }
        if (options.FlushInterval <= TimeSpan.Zero || options.FlushInterval > TimeSpan.FromHours(1))
            errors.Add($"HistoryOptions.FlushInterval is {options.FlushInterval}; it must be positive and at most an hour, e.g. 00:00:30.");
        if (options.SweepInterval <= TimeSpan.Zero)
            errors.Add($"HistoryOptions.SweepInterval is {options.SweepInterval}; it must be positive, e.g. 00:10:00.");
        if (options.MaxSeries is < 1 or > 1_000_000)
            errors.Add($"HistoryOptions.MaxSeries is {options.MaxSeries}; it must be from 1 to 1,000,000.");
        if (options.MaxPointsPerQuery is < 10 or > 1_000_000)
            errors.Add($"HistoryOptions.MaxPointsPerQuery is {options.MaxPointsPerQuery}; it must be from 10 to 1,000,000.");
        if (string.IsNullOrEmpty(options.KeyPrefix) || !options.KeyPrefix.EndsWith('/'))
            errors.Add($"HistoryOptions.KeyPrefix is '{options.KeyPrefix}'; it must be non-empty and end with '/', e.g. metrics-history/.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
