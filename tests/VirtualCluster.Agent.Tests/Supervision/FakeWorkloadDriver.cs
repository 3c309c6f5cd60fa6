using VirtualCluster.Runtime;

namespace VirtualCluster.Agent.Tests.Supervision;

/// <summary>A fake driver that records calls; real processes are covered by the Runtime.Process tests.</summary>
internal sealed class FakeWorkloadDriver(string name = "process") : IWorkloadDriver
{
    public Dictionary<string, WorkloadStatus> Workloads { get; } = new();
    public List<WorkloadStartRequest> Started { get; } = [];
    public List<string> Stopped { get; } = [];
    public string Name { get; } = name;
    public string? FailStartWith { get; set; }
    public string? StartingWith { get; set; }
    public bool Available { get; set; } = true;

    public Task<bool> IsAvailableAsync(CancellationToken cancellationToken = default) => Task.FromResult(Available);

    public Task<WorkloadStatus> StartAsync(WorkloadStartRequest request, CancellationToken cancellationToken = default)
    {
        Started.Add(request);
        var status = FailStartWith is not null ? new WorkloadStatus(request.InstanceId, WorkloadState.Failed, Message: FailStartWith)
            : StartingWith is not null ? new WorkloadStatus(request.InstanceId, WorkloadState.Starting, Message: StartingWith)
            : new WorkloadStatus(request.InstanceId, WorkloadState.Running, Pid: 1000 + Started.Count);
        Workloads[request.InstanceId] = status;
        return Task.FromResult(status);
    }

    public Task StopAsync(string instanceId, TimeSpan gracePeriod, CancellationToken cancellationToken = default)
    {
        Stopped.Add(instanceId);
        Workloads.Remove(instanceId);
        return Task.CompletedTask;
    }

    public Task<WorkloadStatus> GetStatusAsync(string instanceId, CancellationToken cancellationToken = default) =>
        Task.FromResult(Workloads.TryGetValue(instanceId, out var s) ? s : new WorkloadStatus(instanceId, WorkloadState.NotFound));

    public Task<IReadOnlyList<WorkloadStatus>> ListAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<WorkloadStatus>>(Workloads.Values.ToList());

    public Task<IReadOnlyList<LogLine>> ReadLogsAsync(string instanceId, long afterSequence, int maxLines, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<LogLine>>([new LogLine(afterSequence + 1, DateTimeOffset.UnixEpoch, "stdout", "line")]);

    public void Exit(string instanceId, int code) =>
        Workloads[instanceId] = new WorkloadStatus(instanceId, WorkloadState.Exited, ExitCode: code);
}
