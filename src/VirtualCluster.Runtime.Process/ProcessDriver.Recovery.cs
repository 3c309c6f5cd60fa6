namespace VirtualCluster.Runtime.Process;

public sealed partial class ProcessDriver
{
    /// <summary>
    /// After an agent restart, finds the instances a previous driver started: scans <c>&lt;dataRoot&gt;/*/pid</c>.
    /// A process still alive (same pid, start time and boot) is tracked as Running, adopted: it can be stopped, its
    /// output is read on from <c>stdout.log</c> and <c>stderr.log</c> where the previous driver stopped (lines written
    /// while no driver ran included), but its exit code will be unknown. Anything else is tracked as Exited, with the
    /// exit code when the previous driver saw the exit, after reading what it wrote that the previous driver had not.
    /// Earlier output is read back from <c>output.log</c> and new lines continue its sequence. Instances this driver
    /// already knows are left as they are.
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
        string? exitReason = null;
        if (pidFile.ExitCode is int code)
        {
            exitReason = $"exited with code {code} before the agent restarted";
            instance.TrySetExited(code, exitReason, pidFile.Pid, pidFile.StartedAt);
        }
        else if (sameBoot && pidFile.StartTime != 0 && ProcFs.IsAlive(pidFile.Pid, pidFile.StartTime))
        {
            var output = new OutputFile(directory, _options.MaxOutputFileBytes, _logger);
            var tail = NewTail(instance, CaptureOffsets.Read(directory), output);
            instance.SetRunning(process: null, output, tail, pidFile.Pid, pidFile.StartTime, pidFile.StartedAt, adopted: true);
        }
        else
        {
            exitReason = $"process {pidFile.Pid} is gone: it ended while the agent was down (exit code unknown)";
            instance.TrySetExited(null, exitReason, pidFile.Pid, pidFile.StartedAt);
        }

        lock (_sync)
        {
            // Someone started the same id meanwhile: theirs is current.
            if (!_instances.TryAdd(instance.Id, instance))
            {
                instance.ReleaseHandles();
                return _instances[instance.Id].Snapshot();
            }
        }

        if (exitReason is not null)
        {
            // What it wrote between the agent's death and its own exit.
            ReadLeftover(instance);
            LogRecoveredExited(instance.Id, exitReason);
        }
        else if (instance.Tail is { } tail)
        {
            // Catch up at once: the lines written while no driver was running come before the notice.
            tail.Poll();
            AddNotice(instance, tail.HasFiles
                ? $"adopted running process {pidFile.Pid} after an agent restart; its output is read on from stdout.log and stderr.log"
                : $"adopted running process {pidFile.Pid} after an agent restart; it has no output files (started by an older driver), so its output is not captured", instance.Output);
            LogAdopted(instance.Id, pidFile.Pid);
            StartPolling();
        }
        return instance.Snapshot();
    }
}
