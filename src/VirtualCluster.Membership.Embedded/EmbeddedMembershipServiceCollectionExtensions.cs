using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Membership.Election;
using VirtualCluster.Membership.Members;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Embedded;

/// <summary>Registers the embedded provider.</summary>
public static class EmbeddedMembershipServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="SqliteKeyValueStore"/> as <see cref="IKeyValueStore"/>, with <see cref="KvMembership"/> as
    /// <see cref="IMembership"/> and <see cref="KvLeaderElection"/> as <see cref="ILeaderElection"/> on it.
    /// Options are validated at start-up.
    /// </summary>
    public static IServiceCollection AddEmbeddedMembership(this IServiceCollection services, Action<EmbeddedMembershipOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<EmbeddedMembershipOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EmbeddedMembershipOptions>, EmbeddedMembershipOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new SqliteKeyValueStore(sp.GetRequiredService<IOptions<EmbeddedMembershipOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(), sp.GetService<ILogger<SqliteKeyValueStore>>()));
        services.Replace(ServiceDescriptor.Singleton<IKeyValueStore>(sp => sp.GetRequiredService<SqliteKeyValueStore>()));
        services.Replace(ServiceDescriptor.Singleton<IMembership>(sp => new KvMembership(sp.GetRequiredService<IKeyValueStore>())));
        services.Replace(ServiceDescriptor.Singleton<ILeaderElection>(sp => new KvLeaderElection(sp.GetRequiredService<IKeyValueStore>())));
        return services;
    }
}
