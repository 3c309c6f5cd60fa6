using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace VirtualCluster.Monitoring.Otlp;

/// <summary>Registration of the OTLP metrics export.</summary>
public static class OtlpMetricsServiceCollectionExtensions
{
    /// <summary>
    /// Exports the process's metrics (the meters <see cref="OtlpMetricsOptions.Meters"/> names) to an OpenTelemetry
    /// collector over OTLP/HTTP (protobuf) every <see cref="OtlpMetricsOptions.Interval"/>, beside <c>/metrics</c>.
    /// Options are checked at start (a bad endpoint stops the host with the field named). A collector that is away
    /// costs one failed post per interval; nothing queues up.
    /// </summary>
    public static IServiceCollection AddVirtualClusterOtlpMetrics(this IServiceCollection services, Action<OtlpMetricsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<OtlpMetricsOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OtlpMetricsOptions>, OtlpMetricsOptionsValidator>());
        // The SDK's builder takes plain values; read them once from the configured options (validated at start).
        var options = new OtlpMetricsOptions();
        configure(options);
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(string.IsNullOrWhiteSpace(options.ServiceName) ? "vcluster" : options.ServiceName))
            .WithMetrics(metrics =>
            {
                foreach (var meter in options.Meters.Where(m => !string.IsNullOrWhiteSpace(m))) metrics.AddMeter(meter);
                metrics.AddOtlpExporter((exporter, reader) =>
                {
                    exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                    if (options.Endpoint is { IsAbsoluteUri: true } endpoint)
                        exporter.Endpoint = new Uri(endpoint.AbsoluteUri.TrimEnd('/') + "/v1/metrics");
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)Math.Clamp(options.Interval.TotalMilliseconds, 1_000, 600_000);
                });
            });
        return services;
    }
}
