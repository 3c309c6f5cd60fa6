using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.ControlPlane.Cluster;

namespace VirtualCluster.ControlPlane.Reconciliation;

/// <summary>Finishes rebalance moves every <see cref="ControlPlaneOptions.ReconcileInterval"/> (see <see cref="ClusterService.CompleteMovesAsync"/>).</summary>
internal sealed partial class RebalanceMover(ClusterService cluster, TimeProvider time, IOptions<ControlPlaneOptions> options, ILogger<RebalanceMover> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ReconcileInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await cluster.CompleteMovesAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(1201, LogLevel.Warning, "Finishing rebalance moves failed; retrying on the next tick")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
