namespace VirtualCluster.Runtime.Process;

public sealed partial class ProcessDriver
{
    /// <summary>
    /// After an agent restart, finds the instances a previous driver started: scans <c>&lt;dataRoot&gt;/*/pid</c>.
    /// A process still alive (same pid, start time and boot) is tracked as Running, adopted: it can be stopped, but
    /// its output can no longer be captured (its log says so) and its exit code will be unknown. Anything else is
    /// tracked as Exited, with the exit code when the previous driver saw the exit. Earlier output is read back from
    /// <c>output.log</c> and new lines continue its sequence. Instances this driver already knows are left as they are.
    /// </summary>
    /// <param name="dataRoot">Directory holding one data directory per instance.</param>
    /// <param name="cancellationToken">Stops the scan.</param>
    /// <returns>Status of every instance found, already-known ones included.</returns>
    public Task<IReadOnlyList<WorkloadStatus>> RecoverAsync(string dataRoot, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataRoot);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var result = new List<WorkloadStatus>();
        if (!Directory.Exists(dataRoot)) return Task.FromResult<IReadOnlyList<WorkloadStatus>>(result);

        foreach (var directory in Directory.EnumerateDirectories(dataRoot).Order(StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = Path.Combine(directory, PidFile.FileName);
            if (!File.Exists(path)) continue;
            if (PidFile.Read(path) is not { } pidFile)
            {
                LogBadPidFile(path);
                continue;
            }
            result.Add(Recover(directory, pidFile));
        }
        return Task.FromResult<IReadOnlyList<WorkloadStatus>>(result);
    }

    private WorkloadStatus Recover(string directory, PidFile pidFile)
    {
        if (Find(pidFile.InstanceId) is { } known) return known.Snapshot();

        var logs = new LogBuffer(_options.LogBufferLines, OutputFile.ReadTail(directory, _options.LogBufferLines));
        var instance = new ProcessInstance(pidFile.InstanceId, pidFile.Epoch, directory, logs, gateHeld: false);
        var sameBoot = pidFile.BootId.Length == 0 || _bootId.Length == 0 || pidFile.BootId == _bootId;
        if (pidFile.ExitCode is int code)
        {
            var reason = $"exited with code {code} before the agent restarted";
            instance.TrySetExited(code, reason, pidFile.Pid, pidFile.StartedAt);
            LogRecoveredExited(instance.Id, reason);
        }
        else if (sameBoot && pidFile.StartTime != 0 && ProcFs.IsAlive(pidFile.Pid, pidFile.StartTime))
        {
            instance.SetRunning(process: null, output: null, pidFile.Pid, pidFile.StartTime, pidFile.StartedAt, adopted: true);
            using var output = new OutputFile(directory, _options.MaxOutputFileBytes, _logger);
            AddNotice(instance, $"adopted running process {pidFile.Pid} after an agent restart; its output is no longer captured", output);
            LogAdopted(instance.Id, pidFile.Pid);
        }
        else
        {
            var reason = $"process {pidFile.Pid} is gone: it ended while the agent was down (exit code unknown)";
            instance.TrySetExited(null, reason, pidFile.Pid, pidFile.StartedAt);
            LogRecoveredExited(instance.Id, reason);
        }

        lock (_sync)
        {
            // Someone started the same id meanwhile: theirs is current.
            if (!_instances.TryAdd(instance.Id, instance)) return _instances[instance.Id].Snapshot();
        }
        return instance.Snapshot();
    }
}
