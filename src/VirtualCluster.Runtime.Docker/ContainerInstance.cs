namespace VirtualCluster.Runtime.Docker;

/// <summary>
/// What the driver knows about one run of an instance: its container and state. A new run of the same instance
/// id is a new object sharing the same <see cref="Logs"/>. State is guarded by a lock; start and stop are
/// serialized by <see cref="Gate"/>.
/// </summary>
internal sealed class ContainerInstance : IDisposable
{
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _startCancel = new();
    private WorkloadState _state = WorkloadState.Starting;
    private int? _exitCode;
    private int? _pid;
    private DateTimeOffset? _startedAt;
    private string _message = "";
    private string? _containerId;
    private bool _stopRequested;

    public ContainerInstance(string id, long epoch, OutputLog logs, bool gateHeld)
    {
        Id = id;
        Epoch = epoch;
        Logs = logs;
        Gate = new SemaphoreSlim(gateHeld ? 0 : 1, 1);
    }

    public string Id { get; }

    public long Epoch { get; }

    public OutputLog Logs { get; }

    /// <summary>Serializes start (including a background pull) and stop of this run.</summary>
    public SemaphoreSlim Gate { get; }

    /// <summary>Cancelled by a stop that arrives while the image is still being pulled.</summary>
    public CancellationToken StartCancelled => _startCancel.Token;

    /// <summary>Completes when the run ends (exited or failed).</summary>
    public Task Ended => _ended.Task;

    public string? ContainerId
    {
        get { lock (_lock) return _containerId; }
    }

    public bool IsActive
    {
        get { lock (_lock) return _state is WorkloadState.Starting or WorkloadState.Running; }
    }

    public bool StopRequested
    {
        get { lock (_lock) return _stopRequested; }
    }

    /// <summary>Still starting (e.g. pulling): updates the message shown to the user.</summary>
    public void SetStarting(string message)
    {
        lock (_lock)
        {
            if (_state == WorkloadState.Starting) _message = message;
        }
    }

    public void SetContainer(string containerId)
    {
        lock (_lock) _containerId = containerId;
    }

    public void SetRunning(string containerId, int? pid, DateTimeOffset? startedAt, string message)
    {
        lock (_lock)
        {
            if (_state != WorkloadState.Starting) return;
            _containerId = containerId;
            _pid = pid;
            _startedAt = startedAt;
            _message = message;
            _state = WorkloadState.Running;
        }
    }

    /// <summary>Records that the run could not start or was lost; false when its end was already recorded.</summary>
    public bool TrySetFailed(string message)
    {
        lock (_lock)
        {
            if (_state is WorkloadState.Exited or WorkloadState.Failed) return false;
            _state = WorkloadState.Failed;
            _message = message;
        }
        _ended.TrySetResult();
        return true;
    }

    /// <summary>Records the end of the run; false when it was already recorded.</summary>
    public bool TrySetExited(int? exitCode, string message)
    {
        lock (_lock)
        {
            if (_state is WorkloadState.Exited or WorkloadState.Failed) return false;
            _state = WorkloadState.Exited;
            _exitCode = exitCode;
            _message = message;
        }
        _ended.TrySetResult();
        return true;
    }

    public void MarkStopRequested()
    {
        lock (_lock) _stopRequested = true;
    }

    public void CancelStart()
    {
        try
        {
            _startCancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already over.
        }
    }

    public WorkloadStatus Snapshot()
    {
        lock (_lock) return new WorkloadStatus(Id, _state, _exitCode, _pid, _startedAt, _message);
    }

    public void Dispose() => _startCancel.Dispose();
}
