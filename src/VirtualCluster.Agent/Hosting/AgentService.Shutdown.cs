using Microsoft.Extensions.Logging;
using VirtualCluster.Agent.Connection;

namespace VirtualCluster.Agent;

// Graceful shutdown: drain, stop the loops, leave, stop the workloads.
internal sealed partial class AgentService
{
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        var drained = false;
        if (_options.DrainOnShutdown && _identity is { } identity && _reachable)
            drained = await DrainAsync(identity, cancellationToken);
        await base.StopAsync(cancellationToken);
        if (drained && _identity is { } leaving)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                await _client.LeaveAsync(leaving, timeout.Token);
                LogLeft(_logger);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or ControlPlaneRejectedException)
            {
                LogLeaveFailed(_logger, e.Message);
            }
        }
        if (_options.StopWorkloadsOnShutdown)
        {
            // The agent stops everything itself now; the watchdog must not kill anything on its own afterwards.
            _watchdog?.Clear();
            await _supervisor.StopAllAsync(cancellationToken);
        }
        if (_watchdog is not null) await _watchdog.DisposeAsync();
    }

    /// <summary>
    /// Asks the control plane to drain this node and waits (heartbeats and supervision keep running) until nothing
    /// more can move: everything is moved, or what is left stays (failover "never") or has nowhere to go.
    /// </summary>
    private async Task<bool> DrainAsync(AgentIdentity identity, CancellationToken ct)
    {
        try
        {
            using var request = CancellationTokenSource.CreateLinkedTokenSource(ct);
            request.CancelAfter(TimeSpan.FromSeconds(5));
            var status = await _client.DrainAsync(identity, request.Token);
            LogDraining(_logger, status.Instances.Count);
            var deadline = _time.GetTimestamp() + (long)(_options.DrainTimeout.TotalSeconds * _time.TimestampFrequency);
            var sawAnswer = false;
            while (!ct.IsCancellationRequested)
            {
                if (status.Complete || (sawAnswer && status.Instances.All(i => i.Status is "blocked" or "waiting"))) break;
                if (_time.GetTimestamp() >= deadline)
                {
                    LogDrainTimedOut(_logger, _options.DrainTimeout.TotalSeconds, status.Instances.Count(i => i.Status is "moving" or "queued"));
                    return true;
                }
                await Task.Delay(_interval, _time, ct);
                // The heartbeat loop keeps the status fresh; "queued" items turn into moving or waiting after a reconcile pass.
                if (_drain is { } fresh)
                {
                    status = fresh;
                    sawAnswer = status.Instances.All(i => i.Status != "queued");
                }
            }
            LogDrained(_logger, status.Instances.Count(i => i.Status == "blocked"), status.Instances.Count(i => i.Status == "waiting"));
            return true;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or ControlPlaneRejectedException)
        {
            LogDrainFailed(_logger, e.Message);
            return false;
        }
    }
}
