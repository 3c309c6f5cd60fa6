using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Membership.Consul.Client;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Consul;

/// <summary>Registers the Consul provider.</summary>
public static class ConsulMembershipServiceCollectionExtensions
{
    /// <summary>Name of the <see cref="HttpClient"/> the provider uses (configure it with AddHttpClient(name) for TLS or proxies).</summary>
    public const string HttpClientName = "VirtualCluster.Consul";

    /// <summary>
    /// Adds <see cref="ConsulKeyValueStore"/> as <see cref="IKeyValueStore"/>, <see cref="ConsulLeaderElection"/> as
    /// <see cref="ILeaderElection"/> and <see cref="ConsulMembership"/> as <see cref="IMembership"/>, all through one
    /// <see cref="ConsulClient"/>, replacing earlier registrations of those services. Options are validated at start-up.
    /// </summary>
    public static IServiceCollection AddConsulMembership(this IServiceCollection services, Action<ConsulMembershipOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<ConsulMembershipOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ConsulMembershipOptions>, ConsulMembershipOptionsValidator>());
        services.AddHttpClient(HttpClientName);
        services.TryAddSingleton(sp => new ConsulClient(sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName),
            sp.GetRequiredService<IOptions<ConsulMembershipOptions>>().Value));
        services.TryAddSingleton(sp => new ConsulKeyValueStore(sp.GetRequiredService<ConsulClient>(),
            sp.GetRequiredService<IOptions<ConsulMembershipOptions>>().Value, sp.GetService<ILogger<ConsulKeyValueStore>>()));
        services.Replace(ServiceDescriptor.Singleton<IKeyValueStore>(sp => sp.GetRequiredService<ConsulKeyValueStore>()));
        services.Replace(ServiceDescriptor.Singleton<ILeaderElection>(sp => new ConsulLeaderElection(sp.GetRequiredService<ConsulKeyValueStore>(),
            sp.GetRequiredService<IOptions<ConsulMembershipOptions>>().Value)));
        services.Replace(ServiceDescriptor.Singleton<IMembership>(sp => new ConsulMembership(sp.GetRequiredService<ConsulClient>(),
            sp.GetRequiredService<IOptions<ConsulMembershipOptions>>().Value)));
        return services;
    }
}
