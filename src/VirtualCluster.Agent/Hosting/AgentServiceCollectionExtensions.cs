using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Agent.Connection;
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
            var url = ControlPlaneFailoverHandler.Split(sp.GetRequiredService<IOptions<AgentOptions>>().Value.ServerUrl)[0];
            http.BaseAddress = new Uri(url.EndsWith('/') ? url : url + "/");
            http.Timeout = TimeSpan.FromSeconds(5);
        }).AddHttpMessageHandler(sp => new ControlPlaneFailoverHandler(
            ControlPlaneFailoverHandler.Split(sp.GetRequiredService<IOptions<AgentOptions>>().Value.ServerUrl).Select(u => new Uri(u))));
        services.AddSingleton(sp => new ProcessDriver(new ProcessDriverOptions(), sp.GetRequiredService<ILogger<ProcessDriver>>()));
        services.AddSingleton<IWorkloadDriver>(sp => sp.GetRequiredService<ProcessDriver>());
        services.TryAddSingleton(sp => new ResourceCollector(sp.GetRequiredService<IOptions<AgentOptions>>().Value.DataDirectory));
        services.TryAddSingleton(sp => new InstanceSupervisor(
            sp.GetServices<IWorkloadDriver>(),
            new HealthProbe(new HttpClient { Timeout = TimeSpan.FromSeconds(10) }),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<AgentOptions>>().Value,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<InstanceSupervisor>()));
        services.AddHostedService<AgentService>();
        return services;
    }
}
