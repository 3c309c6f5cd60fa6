using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace VirtualCluster.Monitoring;

/// <summary>Registers the collector and maps the Prometheus endpoint.</summary>
public static class MetricsEndpoints
{
    /// <summary>Adds <see cref="MetricsCollector"/> (once) with validated <see cref="MetricsExportOptions"/>.</summary>
    public static IServiceCollection AddPrometheusMetrics(this IServiceCollection services, Action<MetricsExportOptions>? configure = null)
    {
        var options = services.AddOptions<MetricsExportOptions>().ValidateOnStart();
        if (configure is not null) options.Configure(configure);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MetricsExportOptions>, MetricsExportOptionsValidator>());
        services.TryAddSingleton<MetricsCollector>();
        return services;
    }

    /// <summary>
    /// Maps <c>GET <paramref name="pattern"/></c> (default <c>/metrics</c>) to the Prometheus text of every exported
    /// meter. Returns the endpoint's builder so the caller adds its own authorization.
    /// </summary>
    public static RouteHandlerBuilder MapPrometheusMetrics(this IEndpointRouteBuilder endpoints, string pattern = "/metrics")
    {
        // Listen from now on, not from the first scrape: counters then start with the host.
        _ = endpoints.ServiceProvider.GetRequiredService<MetricsCollector>();
        return endpoints.MapGet(pattern, (MetricsCollector collector) =>
            Results.Text(collector.WritePrometheusText(), MetricsCollector.PrometheusContentType));
    }
}
