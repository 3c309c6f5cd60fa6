using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.ControlPlane.Reconciliation;
using VirtualCluster.ControlPlane.Store;
using VirtualCluster.FailureDetection;
using VirtualCluster.Membership;
using VirtualCluster.Scheduling;
using VirtualCluster.Security;
using VirtualCluster.Store;
using VirtualCluster.Monitoring;

namespace VirtualCluster.ControlPlane;

/// <summary>Registers the control plane with the embedded defaults.</summary>
public static class ControlPlaneServiceCollectionExtensions
{
    /// <summary>
    /// Adds the control plane: the embedded cluster state (<see cref="EmbeddedClusterState"/>) in <see cref="ControlPlaneOptions.DataDirectory"/>, pipeline scheduler,
    /// phi-accrual failure detector (<see cref="NodeFailureDetector"/>), reconciler. Map the API with <c>app.MapVirtualClusterApi()</c>.
    /// Each default is registered with TryAdd, so registering another implementation first replaces it.
    /// </summary>
    public static IServiceCollection AddVirtualClusterControlPlane(this IServiceCollection services, Action<ControlPlaneOptions> configure)
    {
        services.AddOptions<ControlPlaneOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ControlPlaneOptions>, ControlPlaneOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddPrometheusMetrics(); // GET /metrics (viewer token): this product's meters, ASP.NET Core's and the runtime's
        AddAlerts(services);
        AddHistory(services);
        // The embedded state (state.db in the data directory): the key-value cluster store on SQLite, as with etcd or Consul.
        services.TryAddSingleton(sp => EmbeddedClusterState.OpenAsync(sp.GetRequiredService<IOptions<ControlPlaneOptions>>().Value.DataDirectory,
            sp.GetService<Microsoft.Extensions.Logging.ILoggerFactory>()).GetAwaiter().GetResult());
        services.TryAddSingleton<IClusterStore>(sp => sp.GetRequiredService<EmbeddedClusterState>().Store);
        services.TryAddSingleton<IScheduler>(_ => new PipelineScheduler());
        services.TryAddSingleton<IFailureDetector>(sp => new NodeFailureDetector(
            sp.GetRequiredService<IOptions<ControlPlaneOptions>>().Value.FailureDetector, sp.GetRequiredService<TimeProvider>()));
        // Start-up work is synchronous here because DI factories cannot await; SQLite answers at once.
        services.TryAddSingleton(sp => Tls.ClusterTls.LoadOrCreateAsync(
            sp.GetRequiredService<IClusterStore>(),
            sp.GetRequiredService<IOptions<ControlPlaneOptions>>().Value,
            sp.GetRequiredService<TimeProvider>()).GetAwaiter().GetResult());
        services.TryAddSingleton<Tls.AgentCertificates>();
        Keys.TokenKeyServiceCollectionExtensions.AddTokenKeys(services);
        services.TryAddSingleton(sp => ClusterCredentials.LoadOrCreateAsync(
            sp.GetRequiredService<IClusterStore>(),
            sp.GetRequiredService<IOptions<ControlPlaneOptions>>().Value.DataDirectory,
            sp.GetRequiredService<TokenService>(),
            sp.GetRequiredService<Joins.JoinTokenDirectory>(),
            sp.GetRequiredService<Tls.ClusterTls>().Fingerprint).GetAwaiter().GetResult());
        services.AddOptions<ServiceUrlOptions>().ValidateOnStart();
        services.AddOptions<P2POptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<P2POptions>, P2POptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ServiceUrlOptions>, ServiceUrlOptionsValidator>());
        services.AddMetrics();
        services.TryAddSingleton<ControlPlaneMetrics>();
        services.TryAddSingleton<ClusterService>();
        services.TryAddSingleton<Tls.GatewayStore>();
        services.TryAddSingleton<Users.UserDirectory>();
        services.TryAddSingleton<Joins.JoinTokenDirectory>();
        services.TryAddSingleton<Joins.MachineCredentialDirectory>();
        // Resolve the credentials at start-up so the token files exist before the API answers its first call.
        services.AddHostedService(sp => new StartupAction(() => sp.GetRequiredService<ClusterCredentials>()));
        services.AddHostedService<Reconciler>();
        services.AddHostedService<RebalanceMover>();
        return services;
    }

    // Metrics history in the cluster's own key-value store (state.db when embedded, etcd or Consul in HA mode).
    private static void AddHistory(IServiceCollection services)
    {
        services.AddOptions<VirtualCluster.Monitoring.History.HistoryOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<VirtualCluster.Monitoring.History.HistoryOptions>, VirtualCluster.Monitoring.History.HistoryOptionsValidator>());
        services.TryAddSingleton(sp => new VirtualCluster.Monitoring.History.MetricsHistory(
            sp.GetService<IKeyValueStore>() ?? sp.GetRequiredService<EmbeddedClusterState>().KeyValueStore,
            sp.GetRequiredService<IOptions<VirtualCluster.Monitoring.History.HistoryOptions>>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<VirtualCluster.Monitoring.History.MetricsHistory>>()));
        services.TryAddSingleton<History.HistorySampler>();
        services.AddHostedService(sp => sp.GetRequiredService<History.HistorySampler>());
    }

    // Built-in alert rules on the leader, notified to webhooks and Alertmanager servers (none by default).
    private static void AddAlerts(IServiceCollection services)
    {
        services.AddOptions<Alerts.AlertOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Alerts.AlertOptions>, Alerts.AlertOptionsValidator>());
        services.AddOptions<VirtualCluster.Monitoring.Alerts.AlertNotifierOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<VirtualCluster.Monitoring.Alerts.AlertNotifierOptions>, VirtualCluster.Monitoring.Alerts.AlertNotifierOptionsValidator>());
        services.TryAddSingleton(sp => new VirtualCluster.Monitoring.Alerts.AlertNotifier(
            sp.GetRequiredService<IOptions<VirtualCluster.Monitoring.Alerts.AlertNotifierOptions>>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<VirtualCluster.Monitoring.Alerts.AlertNotifier>>(),
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddHostedService(sp => sp.GetRequiredService<VirtualCluster.Monitoring.Alerts.AlertNotifier>());
        services.TryAddSingleton<Api.Live.LiveSnapshots>();
        services.TryAddSingleton<Alerts.AlertRuleSet>();
        services.TryAddSingleton<Alerts.AlertEvaluator>();
        services.AddHostedService(sp => sp.GetRequiredService<Alerts.AlertEvaluator>());
    }
}
