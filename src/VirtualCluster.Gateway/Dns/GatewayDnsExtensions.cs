using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using VirtualCluster.Dns;

namespace VirtualCluster.Gateway.Dns;

/// <summary>Adds the cluster DNS responder to a gateway.</summary>
public static class GatewayDnsExtensions
{
    /// <summary>
    /// Answers DNS for the cluster domain (<see cref="DnsServerOptions.Domain"/>, normally the gateway's
    /// <see cref="GatewayOptions.Domain"/>): each deployed service's name resolves to the gateway's address(es).
    /// Call after <see cref="GatewayServiceCollectionExtensions.AddVirtualClusterGateway"/>.
    /// </summary>
    public static IServiceCollection AddVirtualClusterGatewayDns(this IServiceCollection services, Action<DnsServerOptions> configure)
    {
        services.TryAddSingleton<DnsChallenges>();
        services.TryAddSingleton<IDnsRecordSource, GatewayDnsRecords>();
        return services.AddVirtualClusterDns(configure);
    }
}
