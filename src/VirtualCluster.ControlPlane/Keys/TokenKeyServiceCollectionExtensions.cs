using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Security;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Keys;

/// <summary>Registers the token keys: the manager (started when first resolved), the TokenService on its ring, and the refresher.</summary>
public static class TokenKeyServiceCollectionExtensions
{
    /// <summary>Adds <see cref="TokenKeyManager"/>, <see cref="TokenService"/> and <see cref="TokenKeyRefresher"/> (each with TryAdd).</summary>
    public static IServiceCollection AddTokenKeys(IServiceCollection services)
    {
        services.AddOptions<TokenKeyOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TokenKeyOptions>, TokenKeyOptionsValidator>());
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ControlPlaneOptions>>().Value;
            var manager = new TokenKeyManager(sp.GetRequiredService<IClusterStore>(), options.DataDirectory,
                sp.GetRequiredService<IOptions<TokenKeyOptions>>().Value, LongestTokenLifetime(options), sp.GetRequiredService<TimeProvider>(),
                sp.GetService<ILogger<TokenKeyManager>>() ?? Microsoft.Extensions.Logging.Abstractions.NullLogger<TokenKeyManager>.Instance);
            // DI factories cannot await; the embedded store answers at once.
            manager.StartAsync().GetAwaiter().GetResult();
            return manager;
        });
        services.TryAddSingleton(sp =>
        {
            var clusterId = ClusterCredentials.LoadOrCreateClusterIdAsync(sp.GetRequiredService<IClusterStore>()).GetAwaiter().GetResult();
            return new TokenService(sp.GetRequiredService<TokenKeyManager>().Ring, timeProvider: sp.GetRequiredService<TimeProvider>(), audience: clusterId)
            {
                Revocation = sp.GetRequiredService<Joins.MachineCredentialDirectory>(),
            };
        });
        services.AddHostedService<TokenKeyRefresher>();
        return services;
    }

    /// <summary>The longest lifetime a token signed by one key can have: the grace a rotated-out key gets (before the margin).</summary>
    public static TimeSpan LongestTokenLifetime(ControlPlaneOptions options)
    {
        TimeSpan[] lifetimes = [TokenService.MaxUserTokenLifetime, TokenService.MaxServiceTokenLifetime, TokenService.MaxJoinTokenLifetime, options.MachineTokenLifetime];
        return lifetimes.Max();
    }
}
