using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.Membership.ClusterState;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.HighAvailability;

/// <summary>Turns a control plane into one of several highly available ones.</summary>
public static class HighAvailabilityServiceCollectionExtensions
{
    /// <summary>
    /// Makes this control plane one of several sharing a cluster state in a key-value store: the cluster state
    /// (<see cref="IClusterStore"/>) becomes a <see cref="KvClusterStore"/> on the registered
    /// <see cref="IKeyValueStore"/>, with every write fenced by this control plane's leadership; the control plane's
    /// background services (reconciler, failure handling) run only while it leads; and the /v1 API of a follower
    /// forwards to the leader. Call after <c>AddVirtualClusterControlPlane</c> and after a provider
    /// (<c>AddEtcdMembership</c>, <c>AddConsulMembership</c>, <c>AddEmbeddedMembership</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The control plane was not added first.</exception>
    public static IServiceCollection AddControlPlaneHighAvailability(this IServiceCollection services, Action<HighAvailabilityOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        if (!services.Any(d => d.ServiceType == typeof(ClusterService)))
            throw new InvalidOperationException("Call AddVirtualClusterControlPlane before AddControlPlaneHighAvailability.");

        services.AddOptions<HighAvailabilityOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HighAvailabilityOptions>, HighAvailabilityOptionsValidator>());
        // Agents cannot tell a dead leader from a partition: their fencing lease must outlive a leader failover, or
        // every singleton of the cluster would stop each time the leader dies. The new leader waits for this same
        // lease before replacing a silent node's singleton, so raising it keeps "never twice" intact.
        services.AddOptions<ControlPlaneOptions>().PostConfigure<IOptions<HighAvailabilityOptions>>((o, ha) =>
        {
            if (o.FencingLease > TimeSpan.Zero && o.FencingLease < ha.Value.MinimumFencingLease) o.FencingLease = ha.Value.MinimumFencingLease;
        });
        services.TryAddSingleton<LeadershipFence>();
        services.Replace(ServiceDescriptor.Singleton<IClusterStore>(sp => new KvClusterStore(
            sp.GetRequiredService<IKeyValueStore>(), sp.GetRequiredService<LeadershipFence>(),
            new KvClusterStoreOptions { Prefix = sp.GetRequiredService<IOptions<HighAvailabilityOptions>>().Value.StatePrefix })));

        // The control plane's own background services run only on the leader, one fresh set per term.
        var controlPlane = typeof(ClusterService).Assembly;
        var leaderOnly = services.Where(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType?.Assembly == controlPlane).ToList();
        foreach (var descriptor in leaderOnly) services.Remove(descriptor);
        services.AddSingleton(new LeaderOnlyServiceTypes(leaderOnly.Select(d => d.ImplementationType!).ToList()));
        services.TryAddSingleton<LeaderOnlyServices>();

        services.TryAddSingleton<ControlPlaneLeadership>();
        services.AddHostedService(sp => sp.GetRequiredService<ControlPlaneLeadership>());
        services.AddHttpClient(LeaderForwarding.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                ConnectTimeout = TimeSpan.FromSeconds(3),
                // A peer control plane serves a certificate of the same cluster CA (kept in the shared store), and this
                // one presents its own client certificate, so the leader believes the agent certificate it forwards.
                SslOptions =
                {
                    RemoteCertificateValidationCallback = sp.GetRequiredService<ControlPlane.Tls.ClusterTls>().Validator.Validate,
                    LocalCertificateSelectionCallback = (_, _, _, _, _) => sp.GetRequiredService<ControlPlane.Tls.ClusterTls>().ControlPlaneClientCertificate(),
                },
                // Connections are set up again now and then, so a renewed client certificate is used.
                PooledConnectionLifetime = TimeSpan.FromMinutes(10),
            })
            .ConfigureHttpClient(c => c.Timeout = Timeout.InfiniteTimeSpan);
        services.AddTransient<IStartupFilter, LeaderForwardingStartupFilter>();
        return services;
    }
}
