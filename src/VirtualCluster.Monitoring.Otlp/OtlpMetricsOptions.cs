using Microsoft.Extensions.Options;

namespace VirtualCluster.Monitoring.Otlp;

/// <summary>Where and how often metrics go to an OpenTelemetry collector.</summary>
public sealed class OtlpMetricsOptions
{
    /// <summary>
    /// The collector's OTLP/HTTP base address, e.g. <c>http://collector:4318</c> (metrics are posted to
    /// <c>/v1/metrics</c> under it); http or https, no query or fragment.
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>How often metrics are exported; default 15 s, from 1 s to 10 minutes.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The <c>service.name</c> resource attribute, e.g. "vcluster-control-plane"; default "vcluster".</summary>
    public string ServiceName { get; set; } = "vcluster";

    /// <summary>Meter names (or prefixes ending in '*') to export; default the same as the Prometheus endpoint's.</summary>
    public List<string> Meters { get; set; } =
    [
        "VirtualCluster.*",
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "System.Runtime",
        "System.Net.Http",
    ];
}

/// <summary>Checks <see cref="OtlpMetricsOptions"/> at start and names every problem with its fix.</summary>
public sealed class OtlpMetricsOptionsValidator : IValidateOptions<OtlpMetricsOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, OtlpMetricsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.Endpoint is not { IsAbsoluteUri: true } endpoint || endpoint.Scheme is not ("http" or "https")
            || endpoint.Query.Length > 0 || endpoint.Fragment.Length > 0)
            errors.Add($"OtlpMetricsOptions.Endpoint is {(options.Endpoint is null ? "not set" : $"\"{options.Endpoint}\"")}; give the collector's OTLP/HTTP address, e.g. http://collector:4318");
        if (options.Interval < TimeSpan.FromSeconds(1) || options.Interval > TimeSpan.FromMinutes(10))
            errors.Add($"OtlpMetricsOptions.Interval is {options.Interval}; it must be from 1 s to 10 minutes, e.g. 00:00:15.");
        if (string.IsNullOrWhiteSpace(options.ServiceName) || options.ServiceName.Length > 128)
            errors.Add("OtlpMetricsOptions.ServiceName must be 1 to 128 characters, e.g. vcluster-control-plane.");
        if (options.Meters is not { Count: > 0 } || options.Meters.Any(string.IsNullOrWhiteSpace))
            errors.Add("OtlpMetricsOptions.Meters must list meter names or prefixes ending in '*', e.g. VirtualCluster.*");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
