using System.ComponentModel;

namespace VirtualCluster.Runtime.Process;

public sealed partial class ProcessDriver
{
    /// <summary>How long to wait for a killed process's exit to be recorded.</summary>
    private static readonly TimeSpan KilledExitWait = TimeSpan.FromSeconds(5);

    /// <inheritdoc />
    /// <remarks>
    /// Sends SIGTERM to the process and all its descendants, waits up to <paramref name="gracePeriod"/> for all of
    /// them to end, then SIGKILLs the rest. Returns once the exit is recorded (status Exited). The instance's record
    /// and logs are kept; see <see cref="Remove"/>.
    /// </remarks>
    public async Task StopAsync(string instanceId, TimeSpan gracePeriod, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        var instance = Find(instanceId);
        if (instance is null) return;
        await instance.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            RefreshAdopted(instance);
            if (instance.RunningProcess is not var (pid, startTime)) return;
            instance.MarkStopRequested();
            await TerminateAsync(instance, pid, startTime, gracePeriod, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            instance.Gate.Release();
        }
    }

    private async Task TerminateAsync(ProcessInstance instance, int pid, long startTime, TimeSpan gracePeriod, CancellationToken cancellationToken)
    {
        // Snapshot the tree before signalling: once the process dies its children are re-parented and can no
        // longer be found from it. A start time of 0 means it had already ended when we looked.
        var tree = new List<ProcStat>();
        if (startTime != 0 && ProcFs.ReadStat(pid) is { IsRunning: true } main && main.StartTime == startTime)
        {
            tree.Add(main);
            tree.AddRange(ProcFs.Descendants(pid));
        }
        LogStopping(instance.Id, pid, tree.Count, gracePeriod);
        foreach (var process in tree) ProcFs.Signal(process.Pid, ProcFs.SigTerm);

        var deadline = _time.GetUtcNow() + (gracePeriod > TimeSpan.Zero ? gracePeriod : TimeSpan.Zero);
        while (true)
        {
            var alive = tree.Where(p => ProcFs.IsAlive(p.Pid, p.StartTime)).ToList();
            if (alive.Count == 0) break;
            var left = deadline - _time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                // Children started during the grace period are found from the main process, if it still runs.
                var survivors = alive.Union(ProcFs.IsAlive(pid, startTime) ? ProcFs.Descendants(pid) : []).ToList();
                LogKilling(instance.Id, pid, gracePeriod, survivors.Count);
                foreach (var process in survivors) ProcFs.Signal(process.Pid, ProcFs.SigKill);
                KillTree(instance);
                break;
            }
            await Task.Delay(left < PollInterval ? left : PollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
        await WaitForEndAsync(instance, pid, startTime, cancellationToken).ConfigureAwait(false);
    }

    private static void KillTree(ProcessInstance instance)
    {
        if (instance.Process is not { } process) return;
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            // Already exited or handle released: the SIGKILLs above did the work.
        }
    }

    private async Task WaitForEndAsync(ProcessInstance instance, int pid, long startTime, CancellationToken cancellationToken)
    {
        var timeout = KilledExitWait;
        if (!instance.Adopted)
        {
            try
            {
                await instance.Ended.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                LogExitNotObserved(instance.Id, pid, timeout);
            }
            return;
        }

        // Not our child: no exit event and no exit code; it has ended once /proc no longer shows it.
        var deadline = _time.GetUtcNow() + timeout;
        while (ProcFs.IsAlive(pid, startTime))
        {
            if (_time.GetUtcNow() >= deadline)
            {
                LogExitNotObserved(instance.Id, pid, timeout);
                return;
            }
            await Task.Delay(PollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
        const string outcome = "stopped; its exit code is unknown because it was adopted after an agent restart";
        EndAdoptedCapture(instance);
        if (instance.TrySetExited(null, outcome)) LogAdoptedExited(instance.Id, pid, outcome);
    }
}
