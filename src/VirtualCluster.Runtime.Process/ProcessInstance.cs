using OsProcess = System.Diagnostics.Process;

namespace VirtualCluster.Runtime.Process;

/// <summary>
/// What the driver knows about one instance: its current (or last) process and its output.
/// State fields are guarded by a lock; start and stop are serialized by <see cref="Gate"/>.
/// </summary>
internal sealed class ProcessInstance
{
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WorkloadState _state = WorkloadState.Starting;
    private int? _exitCode;
    private int? _pid;
    private long _startTime;
    private DateTimeOffset? _startedAt;
    private string _message = "";
    private bool _stopRequested;

    /// <param name="gateHeld">True when the creator holds <see cref="Gate"/> from the start (a start in progress).</param>
    public ProcessInstance(string id, long epoch, string dataDirectory, LogBuffer logs, bool gateHeld)
    {
        Id = id;
        Epoch = epoch;
        DataDirectory = dataDirectory;
        Logs = logs;
        Gate = new SemaphoreSlim(gateHeld ? 0 : 1, 1);
    }

    public string Id { get; }

    public long Epoch { get; }

    public string DataDirectory { get; }

    public LogBuffer Logs { get; }

    /// <summary>Serializes start and stop of this instance.</summary>
    public SemaphoreSlim Gate { get; }

    /// <summary>The process we started; null when adopted after an agent restart (not our child) or not started.</summary>
    public OsProcess? Process { get; private set; }

    /// <summary>Where output of the current run goes on disk.</summary>
    public OutputFile? Output { get; private set; }

    /// <summary>Reads the run's stdout.log and stderr.log into the log; null before the start or after a failed one.</summary>
    public OutputTail? Tail { get; private set; }

    /// <summary>True when the process was found running after an agent restart: not our child, so no exit code.</summary>
    public bool Adopted { get; private set; }

    /// <summary>Completes when the run ends (exited, or failed to start).</summary>
    public Task Ended => _ended.Task;

    public WorkloadState State
    {
        get { lock (_lock) return _state; }
    }

    public bool IsActive => State is WorkloadState.Starting or WorkloadState.Running;

    public (int Pid, long StartTime)? RunningProcess
    {
        get
        {
            lock (_lock) return _state == WorkloadState.Running && _pid is int pid ? (pid, _startTime) : null;
        }
    }

    public bool StopRequested
    {
        get { lock (_lock) return _stopRequested; }
    }

    public void SetRunning(OsProcess? process, OutputFile? output, OutputTail? tail, int pid, long startTime, DateTimeOffset startedAt, bool adopted)
    {
        lock (_lock)
        {
            Process = process;
            Output = output;
            Tail = tail;
            Adopted = adopted;
            _pid = pid;
            _startTime = startTime;
            _startedAt = startedAt;
            _state = WorkloadState.Running;
        }
    }

    public void SetFailed(string message)
    {
        lock (_lock)
        {
            _state = WorkloadState.Failed;
            _message = message;
        }
        _ended.TrySetResult();
    }

    /// <summary>Records the end of the run; false when it was already recorded.</summary>
    public bool TrySetExited(int? exitCode, string message, int? pid = null, DateTimeOffset? startedAt = null)
    {
        lock (_lock)
        {
            if (_state is WorkloadState.Exited or WorkloadState.Failed) return false;
            _state = WorkloadState.Exited;
            _exitCode = exitCode;
            _message = message;
            _pid ??= pid;
            _startedAt ??= startedAt;
        }
        _ended.TrySetResult();
        return true;
    }

    public void MarkStopRequested()
    {
        lock (_lock) _stopRequested = true;
    }

    public WorkloadStatus Snapshot()
    {
        lock (_lock) return new WorkloadStatus(Id, _state, _exitCode, _pid, _startedAt, _message);
    }

    /// <summary>Lets go of the process handle and the output files; never signals the process.</summary>
    public void ReleaseHandles()
    {
        IDisposable?[] handles;
        // The tail first: its last poll may still be writing to the output file.
        lock (_lock) handles = [Tail, Process, Output];
        foreach (var handle in handles) handle?.Dispose();
    }
}
