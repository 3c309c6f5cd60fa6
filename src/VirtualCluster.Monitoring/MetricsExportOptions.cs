using Microsoft.Extensions.Options;

namespace VirtualCluster.Monitoring;

/// <summary>Which meters the Prometheus endpoint exports, and the bounds that keep it small.</summary>
public sealed class MetricsExportOptions
{
    /// <summary>
    /// Meter names (or prefixes ending with '.' or '*') to export. Default: this product's meters
    /// (<c>VirtualCluster.*</c>), ASP.NET Core's request and connection metrics, the .NET runtime's and HttpClient's.
    /// </summary>
    public List<string> Meters { get; set; } =
    [
        "VirtualCluster.*",
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "System.Runtime",
        "System.Net.Http",
    ];

    /// <summary>
    /// Most label sets (series) kept per instrument; measurements with a new label set beyond it are dropped and counted
    /// in <c>vcluster_metrics_series_dropped_total</c>, so a label fed by hostile input cannot grow memory without bound.
    /// Default 2,000, from 10 to 1,000,000.
    /// </summary>
    public int MaxSeriesPerInstrument { get; set; } = 2000;

    /// <summary>
    /// Bucket upper bounds for histograms in seconds that carry no advice of their own; default the OpenTelemetry
    /// latency buckets, 5 ms to 10 s. Histograms in other units use <see cref="DefaultBuckets"/>.
    /// </summary>
    public List<double> SecondsBuckets { get; set; } = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    /// <summary>Bucket upper bounds for histograms in any other unit without advice; default OpenTelemetry's, 0 to 10,000.</summary>
    public List<double> DefaultBuckets { get; set; } = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    internal bool Exports(string meterName)
    {
        foreach (var pattern in Meters)
        {
            if (pattern.EndsWith('*') ? meterName.StartsWith(pattern[..^1], StringComparison.Ordinal) : meterName == pattern)
                return true;
        }
        return false;
    }
}

/// <summary>Checks <see cref="MetricsExportOptions"/> at start and names every problem with its fix.</summary>
public sealed class MetricsExportOptionsValidator : IValidateOptions<MetricsExportOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, MetricsExportOptions options)
    {
        var errors = new List<string>();
        if (options.Meters is null || options.Meters.Any(string.IsNullOrWhiteSpace))
            errors.Add("MetricsExportOptions.Meters holds an empty name; list meter names or prefixes ending in '*', e.g. VirtualCluster.*");
        if (options.MaxSeriesPerInstrument is < 10 or > 1_000_000)
            errors.Add($"MetricsExportOptions.MaxSeriesPerInstrument is {options.MaxSeriesPerInstrument}; it must be from 10 to 1,000,000, e.g. 2000.");
        foreach (var (field, buckets) in new[] { ("SecondsBuckets", options.SecondsBuckets), ("DefaultBuckets", options.DefaultBuckets) })
        {
            if (buckets is null || buckets.Count is 0 or > 100 || buckets.Any(b => !double.IsFinite(b)) || buckets.Zip(buckets.Skip(1)).Any(p => p.First >= p.Second))
                errors.Add($"MetricsExportOptions.{field} must hold 1 to 100 finite bounds in increasing order, e.g. [0.01, 0.1, 1].");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
