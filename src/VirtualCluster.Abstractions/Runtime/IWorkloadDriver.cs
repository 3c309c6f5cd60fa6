namespace VirtualCluster.Runtime;

/// <summary>State of a workload as its driver reports it.</summary>
public enum WorkloadState
{
    /// <summary>Being created or started.</summary>
    Starting,
    /// <summary>The process or container is running.</summary>
    Running,
    /// <summary>It exited; see <see cref="WorkloadStatus.ExitCode"/>.</summary>
    Exited,
    /// <summary>It could not be started; see <see cref="WorkloadStatus.Message"/>.</summary>
    Failed,
    /// <summary>The driver knows no workload with that id.</summary>
    NotFound,
}

/// <summary>Everything a driver needs to start one instance.</summary>
/// <param name="InstanceId">Instance id; the driver's handle for this workload.</param>
/// <param name="Epoch">Fencing token, recorded with the workload so a restarted agent can tell stale copies.</param>
/// <param name="Spec">The service spec.</param>
/// <param name="Ports">Assigned host port per named port.</param>
/// <param name="Environment">Variables to add on top of the spec's env (instance id, ports, node).</param>
/// <param name="DataDirectory">A directory private to this instance (volumes, logs).</param>
public sealed record WorkloadStartRequest(
    string InstanceId,
    long Epoch,
    ServiceSpec Spec,
    IReadOnlyDictionary<string, int> Ports,
    IReadOnlyDictionary<string, string> Environment,
    string DataDirectory);

/// <summary>Current status of one workload.</summary>
public sealed record WorkloadStatus(
    string InstanceId,
    WorkloadState State,
    int? ExitCode = null,
    int? Pid = null,
    DateTimeOffset? StartedAt = null,
    string Message = "");

/// <summary>One line of a workload's output.</summary>
/// <param name="Sequence">Strictly increasing per instance, starting at 1.</param>
/// <param name="Timestamp">When the line was read.</param>
/// <param name="Stream">"stdout" or "stderr".</param>
/// <param name="Text">The line, without its newline.</param>
public sealed record LogLine(long Sequence, DateTimeOffset Timestamp, string Stream, string Text);

/// <summary>
/// Runs workloads on the local machine. One driver instance serves one agent.
/// Starting an id that is already running is an error (<see cref="InvalidOperationException"/>);
/// stopping an unknown id is a no-op. Drivers never restart on their own: the agent applies the restart policy.
/// </summary>
public interface IWorkloadDriver
{
    /// <summary>"process" or "docker".</summary>
    string Name { get; }

    /// <summary>True when the driver can run workloads here (e.g. the Docker daemon answers).</summary>
    Task<bool> IsAvailableAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts the workload. Returns once it was launched (state Running), or with state Failed and a reason, or, when a
    /// long preparation goes on in the background (an image pull), with state Starting and what it is doing in
    /// <see cref="WorkloadStatus.Message"/>; <see cref="GetStatusAsync"/> then reports progress the same way.
    /// </summary>
    Task<WorkloadStatus> StartAsync(WorkloadStartRequest request, CancellationToken cancellationToken = default);

    /// <summary>Asks the workload to stop, waits up to <paramref name="gracePeriod"/>, then kills it. Releases its resources.</summary>
    Task StopAsync(string instanceId, TimeSpan gracePeriod, CancellationToken cancellationToken = default);

    /// <summary>Status of one workload (NotFound when unknown).</summary>
    Task<WorkloadStatus> GetStatusAsync(string instanceId, CancellationToken cancellationToken = default);

    /// <summary>Status of every workload the driver knows, including ones it adopted after a restart.</summary>
    Task<IReadOnlyList<WorkloadStatus>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Output lines with <see cref="LogLine.Sequence"/> greater than <paramref name="afterSequence"/>, oldest first, at most <paramref name="maxLines"/>.</summary>
    Task<IReadOnlyList<LogLine>> ReadLogsAsync(string instanceId, long afterSequence, int maxLines, CancellationToken cancellationToken = default);
}
