using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VirtualCluster.P2P.Ice;

namespace VirtualCluster.P2P;

/// <summary>Creates ICE agents with the options, clock, logging and metrics registered in DI.</summary>
public interface IIceAgentFactory
{
    /// <summary>A new agent in <paramref name="role"/>; the caller disposes it.</summary>
    IceAgent Create(IceRole role);
}

/// <summary>Registers the P2P layer.</summary>
public static class P2PServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="IIceAgentFactory"/> with <see cref="IceAgentOptions"/> (validated at start-up), a
    /// <see cref="TimeProvider"/> (the system clock unless one is registered) and <see cref="P2PMetrics"/> (on the
    /// registered <see cref="IMeterFactory"/> when there is one).
    /// </summary>
    public static IServiceCollection AddVirtualClusterP2P(this IServiceCollection services, Action<IceAgentOptions> configure)
    {
        services.AddOptions<IceAgentOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IceAgentOptions>, IceAgentOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => sp.GetService<IMeterFactory>() is { } meters ? new P2PMetrics(meters) : P2PMetrics.Shared);
        services.TryAddSingleton<IIceAgentFactory, IceAgentFactory>();
        return services;
    }

    private sealed class IceAgentFactory(IOptions<IceAgentOptions> options, TimeProvider timeProvider, P2PMetrics metrics, IServiceProvider services)
        : IIceAgentFactory
    {
        public IceAgent Create(IceRole role) =>
            new(role, options.Value, timeProvider, services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance, metrics: metrics);
    }
}
