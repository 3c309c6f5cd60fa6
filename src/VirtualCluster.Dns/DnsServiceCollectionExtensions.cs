using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace VirtualCluster.Dns;

/// <summary>Registers the DNS responder in a host.</summary>
public static class DnsServiceCollectionExtensions
{
    /// <summary>
    /// Adds the authoritative responder as a hosted service, with options validated at start. Register an
    /// <see cref="IDnsRecordSource"/> too: it says which names exist.
    /// </summary>
    public static IServiceCollection AddVirtualClusterDns(this IServiceCollection services, Action<DnsServerOptions> configure)
    {
        services.AddOptions<DnsServerOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DnsServerOptions>, DnsServerOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new DnsMetrics(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.TryAddSingleton<DnsServer>();
        services.AddHostedService(sp => sp.GetRequiredService<DnsServer>());
        return services;
    }
}
