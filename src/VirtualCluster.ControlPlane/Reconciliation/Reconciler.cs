using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.ControlPlane.Cluster;

namespace VirtualCluster.ControlPlane.Reconciliation;

/// <summary>
/// Runs <see cref="ClusterService.ReconcileOnceAsync"/> every <see cref="ControlPlaneOptions.ReconcileInterval"/>,
/// and at once (within <see cref="ControlPlaneOptions.FailureCheckInterval"/>) when a node's state changes, a
/// report asks for it, or a timed action is due, so a failure is acted on without waiting for the next interval.
/// </summary>
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
        using var timer = new PeriodicTimer(_options.FailureCheckInterval, _time);
        var next = _time.GetUtcNow();
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (_time.GetUtcNow() < next && !_cluster.NeedsReconcile()) continue;
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
            next = _time.GetUtcNow() + _options.ReconcileInterval;
        }
    }

    [LoggerMessage(1101, LogLevel.Error, "Reconcile pass failed")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}
