using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.ControlPlane.Cluster;

namespace VirtualCluster.ControlPlane.Reconciliation;

/// <summary>Runs <see cref="ClusterService.ReconcileOnceAsync"/> on a timer until the host stops.</summary>
internal sealed partial class Reconciler : BackgroundService
{
    private readonly ClusterService _cluster;
    private readonly TimeProvider _time;
    private readonly ControlPlaneOptions _options;
    private readonly ILogger<Reconciler> _logger;

    public Reconciler(ClusterService cluster, TimeProvider time, IOptions<ControlPlaneOptions> options, ILogger<Reconciler> logger)
    {
        _cluster = cluster;
        _time = time;
        _options = options.Value;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await _cluster.StartGracePeriodAsync(stoppingToken);
        using var timer = new PeriodicTimer(_options.ReconcileInterval, _time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await _cluster.ReconcileOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // One bad pass must not stop reconciliation for good; the next tick retries.
                LogPassFailed(_logger, e);
            }
        }
    }

    [LoggerMessage(1101, LogLevel.Error, "Reconcile pass failed")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}
