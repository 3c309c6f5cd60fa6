using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Hosting;
using VirtualCluster.Agent.Connection;
using VirtualCluster.Agent.Fencing;
using VirtualCluster.Agent.Monitoring;
using VirtualCluster.Agent.Supervision;
using VirtualCluster.Runtime;
using VirtualCluster.Runtime.Process;

namespace VirtualCluster.Agent;

/// <summary>Registers a node agent.</summary>
public static class AgentServiceCollectionExtensions
{
    /// <summary>
    /// Adds the agent with the process driver (the embedded default). Other drivers are added as more
    /// <see cref="IWorkloadDriver"/> singletons.
    /// </summary>
    public static IServiceCollection AddVirtualClusterAgent(this IServiceCollection services, Action<AgentOptions> configure)
    {
        services.AddOptions<AgentOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AgentOptions>, AgentOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient<ControlPlaneClient>((sp, http) =>
        {
            var url = sp.GetRequiredService<IOptions<AgentOptions>>().Value.ServerUrl;
            http.BaseAddress = new Uri(url.EndsWith('/') ? url : url + "/");
            http.Timeout = TimeSpan.FromSeconds(5);
        });
        services.AddSingleton(sp => new ProcessDriver(new ProcessDriverOptions(), sp.GetRequiredService<ILogger<ProcessDriver>>()));
        services.AddSingleton<IWorkloadDriver>(sp => sp.GetRequiredService<ProcessDriver>());
        services.TryAddSingleton(sp => new ResourceCollector(sp.GetRequiredService<IOptions<AgentOptions>>().Value.DataDirectory));
        services.TryAddSingleton(sp => new FencingLease(sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new InstanceSupervisor(
            sp.GetServices<IWorkloadDriver>(),
            new HealthProbe(new HttpClient { Timeout = TimeSpan.FromSeconds(10) }),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<AgentOptions>>().Value,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<InstanceSupervisor>(),
            sp.GetRequiredService<FencingLease>()));
        services.AddHostedService(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AgentOptions>>();
            var time = sp.GetRequiredService<TimeProvider>();
            var watchdog = options.Value.FencingWatchdog
                ? new FenceWatchdog(options.Value.DataDirectory, sp.GetRequiredService<ILoggerFactory>().CreateLogger<FenceWatchdog>(), time)
                : null;
            return new AgentService(options, sp.GetRequiredService<ControlPlaneClient>(), sp.GetRequiredService<InstanceSupervisor>(),
                sp.GetRequiredService<ResourceCollector>(), sp.GetRequiredService<FencingLease>(), time,
                sp.GetRequiredService<IHostApplicationLifetime>(), sp.GetRequiredService<ILogger<AgentService>>(), watchdog);
        });
        return services;
    }
}
