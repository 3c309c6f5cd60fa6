using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Hosting;
using VirtualCluster.Agent.Connection;
using VirtualCluster.Agent.Fencing;
using VirtualCluster.Agent.Gateway;
using VirtualCluster.Agent.Monitoring;
using VirtualCluster.Agent.Replication;
using VirtualCluster.Agent.Supervision;
using VirtualCluster.Runtime;
using VirtualCluster.Runtime.Docker;
using VirtualCluster.Runtime.Process;

namespace VirtualCluster.Agent;

/// <summary>Registers a node agent.</summary>
public static class AgentServiceCollectionExtensions
{
    /// <summary>
    /// Adds the agent with the process driver (the embedded default) and, unless <see cref="AgentOptions.Docker"/> is
    /// <see cref="DockerMode.Off"/>, the Docker driver. Other drivers are added as more <see cref="IWorkloadDriver"/> singletons.
    /// </summary>
    public static IServiceCollection AddVirtualClusterAgent(this IServiceCollection services, Action<AgentOptions> configure)
    {
        services.AddOptions<AgentOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AgentOptions>, AgentOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => AgentTrust.Create(sp.GetRequiredService<IOptions<AgentOptions>>().Value));
        services.TryAddSingleton(sp => new AgentCertificate(sp.GetRequiredService<IOptions<AgentOptions>>().Value.DataDirectory,
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<AgentCertificate>>()));
        services.AddHttpClient<ControlPlaneClient>((sp, http) =>
        {
            var url = ControlPlaneFailoverHandler.Split(sp.GetRequiredService<IOptions<AgentOptions>>().Value.ServerUrl)[0];
            http.BaseAddress = new Uri(url.EndsWith('/') ? url : url + "/");
            http.Timeout = TimeSpan.FromSeconds(5);
        }).AddHttpMessageHandler(sp => new ControlPlaneFailoverHandler(
            ControlPlaneFailoverHandler.Split(sp.GetRequiredService<IOptions<AgentOptions>>().Value.ServerUrl).Select(u => new Uri(u))))
            // Below the failover, so that the CA is fetched (and checked) from the control plane actually asked.
            .AddHttpMessageHandler(sp => sp.GetRequiredService<AgentTrust>().DiscoveryHandler())
            // At the bottom: presents the node's client certificate, on new connections once it is renewed.
            .ConfigurePrimaryHttpMessageHandler(sp => new ClientCertificateHandler(sp.GetRequiredService<AgentTrust>().SocketsHandler, sp.GetRequiredService<AgentCertificate>()));
        services.AddSingleton(sp => new ProcessDriver(new ProcessDriverOptions(), sp.GetRequiredService<ILogger<ProcessDriver>>()));
        services.AddSingleton<IWorkloadDriver>(sp => sp.GetRequiredService<ProcessDriver>());
        services.TryAddSingleton(sp =>
        {
            var agent = sp.GetRequiredService<IOptions<AgentOptions>>().Value;
            // Containers are labelled with the control-plane URL and node name: this agent's own, and no one else's.
            var docker = new DockerDriverOptions { Endpoint = agent.DockerEndpoint, PublishAddress = agent.DockerPublishAddress, Cluster = agent.ServerUrl, Node = agent.Name };
            return new DockerDriver(docker, sp.GetRequiredService<ILogger<DockerDriver>>(), sp.GetRequiredService<TimeProvider>());
        });
        services.TryAddSingleton(sp => new ResourceCollector(sp.GetRequiredService<IOptions<AgentOptions>>().Value.DataDirectory));
        services.TryAddSingleton(sp => new FencingLease(sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new MachineIdentity());
        services.TryAddSingleton(sp => new ReplicaHost(sp.GetRequiredService<IOptions<AgentOptions>>().Value,
            new ControlPlaneReplicaAuthenticator(sp.GetRequiredService<ControlPlaneClient>(), () => sp.GetRequiredService<MachineIdentity>().Current,
                sp.GetRequiredService<TimeProvider>()),
            sp.GetRequiredService<ILoggerFactory>(), ReplicaTlsOf(sp)));
        services.TryAddSingleton(sp => new VolumeReplication(sp.GetRequiredService<IOptions<AgentOptions>>().Value,
            () => sp.GetRequiredService<MachineIdentity>().Current?.Token, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>(),
            ReplicaTlsOf(sp)));
        services.TryAddSingleton(sp => new ServiceCallProxy(sp.GetRequiredService<IOptions<AgentOptions>>().Value, sp.GetRequiredService<ControlPlaneClient>(),
            sp.GetRequiredService<ILogger<ServiceCallProxy>>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new InstanceSupervisor(
            sp.GetRequiredService<IOptions<AgentOptions>>().Value.Docker == DockerMode.Off
                ? sp.GetServices<IWorkloadDriver>()
                : sp.GetServices<IWorkloadDriver>().Append(sp.GetRequiredService<DockerDriver>()).DistinctBy(d => d.Name),
            new HealthProbe(new HttpClient { Timeout = TimeSpan.FromSeconds(10) }),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<AgentOptions>>().Value,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<InstanceSupervisor>(),
            sp.GetRequiredService<FencingLease>())
        {
            Replicas = sp.GetRequiredService<ReplicaHost>(),
            Volumes = sp.GetRequiredService<VolumeReplication>(),
            ServiceCalls = sp.GetRequiredService<ServiceCallProxy>(),
        });
        services.AddHostedService(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AgentOptions>>();
            var time = sp.GetRequiredService<TimeProvider>();
            var watchdog = options.Value.FencingWatchdog
                ? new FenceWatchdog(options.Value.DataDirectory, sp.GetRequiredService<ILoggerFactory>().CreateLogger<FenceWatchdog>(), time)
                : null;
            return new AgentService(options, sp.GetRequiredService<ControlPlaneClient>(), sp.GetRequiredService<InstanceSupervisor>(),
                sp.GetRequiredService<ResourceCollector>(), sp.GetRequiredService<FencingLease>(), time,
                sp.GetRequiredService<IHostApplicationLifetime>(), sp.GetRequiredService<ILogger<AgentService>>(), watchdog,
                sp.GetRequiredService<AgentCertificate>())
            {
                Identity = sp.GetRequiredService<MachineIdentity>(),
                Replicas = sp.GetRequiredService<ReplicaHost>(),
                Volumes = sp.GetRequiredService<VolumeReplication>(),
            };
        });
        services.TryAddSingleton(sp => new GatewayConnectionTls(sp.GetRequiredService<AgentTrust>(), sp.GetRequiredService<AgentCertificate>(),
            sp.GetRequiredService<IOptions<AgentOptions>>().Value, sp.GetRequiredService<ILogger<GatewayConnectionTls>>()));
        services.AddHostedService(sp => new GatewayTunnelService(sp.GetRequiredService<IOptions<AgentOptions>>().Value,
            sp.GetRequiredService<InstanceSupervisor>(), sp.GetRequiredService<GatewayConnectionTls>(), sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ServiceCallProxy>()));
        services.AddHostedService(sp => new PeerLinkAgentService(sp.GetRequiredService<IOptions<AgentOptions>>().Value,
            sp.GetRequiredService<InstanceSupervisor>(), sp.GetRequiredService<ControlPlaneClient>(), sp.GetRequiredService<GatewayConnectionTls>(),
            sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<TimeProvider>()));
        return services;
    }

    // Replicas between agents go over TLS with the nodes' certificates whenever the cluster has a CA.
    private static VirtualCluster.Replication.Volumes.ReplicaTls? ReplicaTlsOf(IServiceProvider sp) =>
        AgentReplicaTls.Create(sp.GetRequiredService<IOptions<AgentOptions>>().Value, sp.GetRequiredService<AgentTrust>(), sp.GetRequiredService<AgentCertificate>(), sp.GetRequiredService<TimeProvider>());
}
