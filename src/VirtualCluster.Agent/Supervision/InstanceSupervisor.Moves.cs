using Microsoft.Extensions.Logging;
using VirtualCluster.Api;

namespace VirtualCluster.Agent.Supervision;

// Planned moves of instances with replicated volumes: stop, sync one last time, report Stopped; the control plane
// then starts the replacement on the holder of that final sync.
internal sealed partial class InstanceSupervisor
{
    /// <summary>The longest a final sync may take before the move goes on with the last completed sync.</summary>
    internal static readonly TimeSpan FinalSyncTimeout = TimeSpan.FromSeconds(60);

    private readonly Dictionary<string, MoveOut> _moving = new(StringComparer.Ordinal);
    // Read by the heartbeat loop while the supervision loop changes _moving.
    private volatile MoveOut[] _movingSnapshot = [];

    private sealed class MoveOut(Assignment assignment)
    {
        public Assignment Assignment { get; } = assignment;
        public Task<(InstanceState State, string Reason)> Done { get; set; } = null!;
    }

    /// <summary>Starts the move of each assignment the control plane marked as moving; forgets moves no longer assigned.</summary>
    private void ApplyMoves(IReadOnlyList<Assignment> assignments, IReadOnlyDictionary<string, Assignment> desired)
    {
        foreach (var gone in _moving.Keys.Where(id => !desired.TryGetValue(id, out var a) || !a.Move).ToList()) _moving.Remove(gone);
        foreach (var a in assignments.Where(a => a.Move))
        {
            if (_moving.ContainsKey(a.InstanceId)) continue;
            _instances.Remove(a.InstanceId);
            var move = new MoveOut(a);
            move.Done = MoveOutAsync(a);
            _moving[a.InstanceId] = move;
        }
        _movingSnapshot = [.. _moving.Values];
    }

    private async Task<(InstanceState, string)> MoveOutAsync(Assignment a)
    {
        LogStopping(_logger, a.InstanceId, "moving off this node: stop, then a final sync of its replicated volumes");
        if (_drivers.TryGetValue(a.Spec.Driver, out var driver))
        {
            try
            {
                // Stopped even when this agent never started it (a workload recovered after an agent restart).
                await driver.StopAsync(a.InstanceId, _options.StopGracePeriod, CancellationToken.None);
                Forget(driver, a.InstanceId);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogStopFailed(_logger, a.InstanceId, e.Message);
                return (InstanceState.Failed, $"could not stop it to move it: {e.Message}");
            }
        }
        if (Volumes is null) return (InstanceState.Stopped, "stopped to move off this node (no replication here)");
        using var timeout = new CancellationTokenSource(FinalSyncTimeout);
        try
        {
            var (synced, error) = await Volumes.FinalSyncAsync(a.InstanceId, timeout.Token);
            return error is null
                ? (InstanceState.Stopped, $"stopped to move off this node after a final sync to {synced} replica holder(s)")
                : (InstanceState.Stopped, $"stopped to move off this node; final sync failed ({error}); {synced} holder(s) synced");
        }
        catch (OperationCanceledException)
        {
            return (InstanceState.Stopped, $"stopped to move off this node; the final sync did not finish within {FinalSyncTimeout.TotalSeconds:0} s");
        }
    }

    /// <summary>Reports of finished moves: Stopped (or Failed) with the volumes' sync state after the final sync.</summary>
    private IEnumerable<InstanceReport> MoveReports() =>
        _movingSnapshot.Where(m => m.Done.IsCompletedSuccessfully).Select(m => new InstanceReport(m.Assignment.InstanceId, m.Assignment.Epoch,
            m.Done.Result.State, m.Done.Result.Reason, 0, null, [], SyncReports(m.Assignment.InstanceId)));
}
