using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Membership.Members;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Etcd;

/// <summary>Registers the etcd provider.</summary>
public static class EtcdMembershipServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="EtcdKeyValueStore"/> as <see cref="IKeyValueStore"/>, <see cref="EtcdLeaderElection"/> as
    /// <see cref="ILeaderElection"/> and <see cref="KvMembership"/> on etcd as <see cref="IMembership"/>, replacing
    /// earlier registrations of those services. Options are validated at start-up.
    /// </summary>
    public static IServiceCollection AddEtcdMembership(this IServiceCollection services, Action<EtcdMembershipOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<EtcdMembershipOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EtcdMembershipOptions>, EtcdMembershipOptionsValidator>());
        services.TryAddSingleton(sp => new EtcdKeyValueStore(sp.GetRequiredService<IOptions<EtcdMembershipOptions>>().Value,
            sp.GetService<ILogger<EtcdKeyValueStore>>()));
        services.Replace(ServiceDescriptor.Singleton<IKeyValueStore>(sp => sp.GetRequiredService<EtcdKeyValueStore>()));
        services.Replace(ServiceDescriptor.Singleton<ILeaderElection>(sp => new EtcdLeaderElection(sp.GetRequiredService<EtcdKeyValueStore>())));
        services.Replace(ServiceDescriptor.Singleton<IMembership>(sp => new KvMembership(sp.GetRequiredService<EtcdKeyValueStore>())));
        return services;
    }
}
