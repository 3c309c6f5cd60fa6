using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace VirtualCluster.Runtime.Process;

/// <summary>
/// Runs workloads as local processes on Linux (it reads <c>/proc</c> and signals through libc).
/// </summary>
/// <remarks>
/// <para>Each process writes its stdout and stderr itself, to <c>stdout.log</c> and <c>stderr.log</c> in its data
/// directory, so its output never depends on the agent: killing the agent cannot break it. The driver reads those
/// files every 100 ms into a bounded in-memory buffer and <c>output.log</c>. A <c>pid</c> file and
/// <c>output.offsets</c> there let <see cref="RecoverAsync"/> find the process again after an agent restart and read
/// on where the previous driver stopped.</para>
/// <para>Finished instances are kept, with their status and logs, until <see cref="Remove"/>. Starting an instance id
/// again after it ended continues its log sequence, so a reader's cursor stays valid across restarts.</para>
/// <para>Stopping signals the whole process tree: SIGTERM to the process and its descendants, then, after the grace
/// period, SIGKILL to whatever is left. Disposing the driver never stops processes.</para>
/// </remarks>
public sealed partial class ProcessDriver : IWorkloadDriver, IAsyncDisposable
{
    /// <summary>Lines the driver itself writes into an instance's log start with this.</summary>
    public const string NoticePrefix = "[process driver] ";

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private readonly ProcessDriverOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _bootId = ProcFs.BootId();
    private readonly Lock _sync = new();
    private readonly Dictionary<string, ProcessInstance> _instances = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <summary>Creates a driver.</summary>
    /// <param name="options">Settings; defaults when null.</param>
    /// <param name="logger">Logger; none when null.</param>
    /// <param name="timeProvider">Clock for timestamps and waits; the system clock when null.</param>
    public ProcessDriver(ProcessDriverOptions? options = null, ILogger<ProcessDriver>? logger = null, TimeProvider? timeProvider = null)
    {
        _options = options ?? new ProcessDriverOptions();
        _options.Validate();
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public string Name => "process";

    /// <inheritdoc />
    /// <remarks>Linux with <c>/bin/sh</c>, which starts every workload.</remarks>
    public Task<bool> IsAvailableAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(OperatingSystem.IsLinux() && File.Exists(Shell));

    /// <inheritdoc />
    public Task<WorkloadStatus> GetStatusAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        var instance = Find(instanceId);
        if (instance is null) return Task.FromResult(new WorkloadStatus(instanceId, WorkloadState.NotFound));
        RefreshAdopted(instance);
        return Task.FromResult(instance.Snapshot());
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<WorkloadStatus>> ListAsync(CancellationToken cancellationToken = default)
    {
        ProcessInstance[] all;
        lock (_sync) all = [.. _instances.Values];
        var result = new List<WorkloadStatus>(all.Length);
        foreach (var instance in all.OrderBy(i => i.Id, StringComparer.Ordinal))
        {
            RefreshAdopted(instance);
            result.Add(instance.Snapshot());
        }
        return Task.FromResult<IReadOnlyList<WorkloadStatus>>(result);
    }

    /// <inheritdoc />
    /// <remarks>Unknown instances have no lines. Lines older than the in-memory buffer are only in <c>output.log</c>.</remarks>
    public Task<IReadOnlyList<LogLine>> ReadLogsAsync(string instanceId, long afterSequence, int maxLines, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        var instance = Find(instanceId);
        return Task.FromResult(instance is null ? [] : instance.Logs.Read(afterSequence, maxLines));
    }

    /// <summary>
    /// Forgets a finished instance: its status, in-memory logs and pid file (so a later <see cref="RecoverAsync"/>
    /// does not bring it back). Its data directory, <c>output.log</c> and volumes stay. No-op for unknown ids.
    /// </summary>
    /// <exception cref="InvalidOperationException">The instance is still running; stop it first.</exception>
    public void Remove(string instanceId)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        ProcessInstance? instance;
        lock (_sync)
        {
            if (!_instances.TryGetValue(instanceId, out instance)) return;
            RefreshAdopted(instance);
            if (instance.IsActive) throw new InvalidOperationException($"Instance {instanceId} is still running; stop it before removing it.");
            _instances.Remove(instanceId);
        }
        instance.ReleaseHandles();
        try
        {
            File.Delete(Path.Combine(instance.DataDirectory, PidFile.FileName));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A pid file left behind is recovered as Exited later and can be removed then.
        }
    }

    /// <summary>The fencing epoch an instance was started (or recovered) with.</summary>
    /// <returns>False when the instance is unknown.</returns>
    public bool TryGetEpoch(string instanceId, out long epoch)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        var instance = Find(instanceId);
        epoch = instance?.Epoch ?? 0;
        return instance is not null;
    }

    /// <summary>Releases process handles and files. Running processes are left running; the agent decides their fate.</summary>
    /// <remarks>
    /// Processes keep writing their output to <c>stdout.log</c> and <c>stderr.log</c>, as they do when the agent is
    /// killed; a driver that adopts them through <see cref="RecoverAsync"/> reads on from where this one stopped.
    /// </remarks>
    public ValueTask DisposeAsync()
    {
        ProcessInstance[] all;
        lock (_sync)
        {
            if (_disposed) return ValueTask.CompletedTask;
            _disposed = true;
            all = [.. _instances.Values];
        }
        _stopPolling.Cancel();
        foreach (var instance in all) instance.ReleaseHandles();
        return ValueTask.CompletedTask;
    }

    private ProcessInstance? Find(string instanceId)
    {
        lock (_sync) return _instances.GetValueOrDefault(instanceId);
    }

    /// <summary>Adopted processes are not our children, so nothing tells us they exited: look at /proc.</summary>
    private void RefreshAdopted(ProcessInstance instance)
    {
        if (!instance.Adopted || instance.RunningProcess is not var (pid, startTime) || ProcFs.IsAlive(pid, startTime)) return;
        const string outcome = "exited; its exit code is unknown because it was adopted after an agent restart";
        EndAdoptedCapture(instance);
        if (instance.TrySetExited(null, $"process {outcome}")) LogAdoptedExited(instance.Id, pid, outcome);
    }

    /// <summary>An adopted run ended: reads what it wrote last, then closes its files (a process we started does this in WatchAsync).</summary>
    private static void EndAdoptedCapture(ProcessInstance instance)
    {
        instance.Tail?.Finish();
        instance.Output?.Dispose();
    }

    private void AddNotice(ProcessInstance instance, string text, OutputFile? output) =>
        instance.Logs.Append(_time.GetUtcNow(), "stderr", NoticePrefix + text, output);
}
