using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.Monitoring.History;

namespace VirtualCluster.ControlPlane.History;

/// <summary>
/// On the leader, every finest history step: records each node's utilization and each service's counts into
/// <see cref="MetricsHistory"/>; writes changed blocks every <see cref="HistoryOptions.FlushInterval"/> and deletes
/// expired ones every <see cref="HistoryOptions.SweepInterval"/>. A control plane that stops leading forgets its
/// in-memory series (the next leader reads them from the store) and writes nothing more.
/// </summary>
public sealed partial class HistorySampler(ClusterService cluster, MetricsHistory history, IOptions<HistoryOptions> options, TimeProvider time,
    ILogger<HistorySampler> logger) : BackgroundService
{
    private bool _leading;
    private DateTimeOffset _lastFlush, _lastSweep;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled) return;
        _lastFlush = _lastSweep = time.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.Tiers[0].Step, time, stoppingToken);
                await SampleAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.SampleFailed(logger, e.Message); // the store may be away: the next step tries again
            }
        }
        if (_leading)
        {
            try { await history.FlushAsync(CancellationToken.None); } // a clean stop keeps everything recorded
            catch (Exception e) when (e is not OutOfMemoryException) { Log.SampleFailed(logger, e.Message); }
        }
    }

    /// <summary>One step: sample if leading, then flush and sweep when due (also run by tests).</summary>
    public async Task SampleAsync(CancellationToken ct)
    {
        if (cluster.HistoryFacts() is not { } facts)
        {
            if (_leading) await history.ResetAsync(ct);
            _leading = false;
            return;
        }
        _leading = true;
        var now = time.GetUtcNow();
        foreach (var node in facts.Nodes)
            await history.RecordAsync("node/" + node.Name, now, ClusterService.NodeHistoryMetrics,
                [node.Cpu, node.Memory, node.Disk, node.CpuAllocated, node.MemoryAllocated, node.Instances, node.Phi, node.NetworkReceive, node.NetworkTransmit], ct);
        foreach (var service in facts.Services)
            await history.RecordAsync("service/" + service.Name, now, ClusterService.ServiceHistoryMetrics,
                [service.Desired, service.Running, service.Restarts, service.CpuMillicores, service.MemoryBytes], ct);
        if (now - _lastFlush >= options.Value.FlushInterval)
        {
            _lastFlush = now;
            await history.FlushAsync(ct);
        }
        if (now - _lastSweep >= options.Value.SweepInterval)
        {
            _lastSweep = now;
            await history.SweepAsync(ct);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(8210, LogLevel.Warning, "Could not record metrics history: {Reason}; trying again at the next step")]
        public static partial void SampleFailed(ILogger logger, string reason);
    }
}
