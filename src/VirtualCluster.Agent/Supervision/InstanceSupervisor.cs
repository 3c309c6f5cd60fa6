using Microsoft.Extensions.Logging;
using VirtualCluster.Api;
using VirtualCluster.Runtime;
using VirtualCluster.Runtime.Docker;
using VirtualCluster.Runtime.Process;

namespace VirtualCluster.Agent.Supervision;

/// <summary>
/// Makes the local workloads match the control plane's assignments: starts what is missing, stops what is no
/// longer assigned (including stale epochs), restarts exits by restart policy with capped exponential backoff,
/// and turns driver status plus health probes into instance states. Not thread-safe: one loop drives it.
/// </summary>
internal sealed partial class InstanceSupervisor
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private readonly Dictionary<string, SupervisedInstance> _instances = new(StringComparer.Ordinal);
    private readonly IReadOnlyDictionary<string, IWorkloadDriver> _drivers;
    private readonly HealthProbe _probe;
    private readonly TimeProvider _time;
    private readonly AgentOptions _options;
    private readonly ILogger _logger;
    private readonly Dictionary<string, string> _recovered = new(StringComparer.Ordinal);
    private string _nodeId = "";

    public InstanceSupervisor(IEnumerable<IWorkloadDriver> drivers, HealthProbe probe, TimeProvider time, AgentOptions options, ILogger logger)
    {
        _drivers = drivers.ToDictionary(d => d.Name, StringComparer.Ordinal);
        _probe = probe;
        _time = time;
        _options = options;
        _logger = logger;
    }

    public IReadOnlyCollection<string> DriverNames => _drivers.Keys.ToList();

    /// <summary>Drivers that can run workloads right now (e.g. Docker only while its daemon answers): what the agent advertises.</summary>
    public async Task<IReadOnlyList<string>> AvailableDriverNamesAsync(CancellationToken ct)
    {
        var available = new List<string>(_drivers.Count);
        foreach (var (name, driver) in _drivers)
            if (await driver.IsAvailableAsync(ct)) available.Add(name);
        return available;
    }

    public void SetNode(string nodeId) => _nodeId = nodeId;

    /// <summary>Applies the full desired set: anything not in it is stopped.</summary>
    public async Task ApplyAsync(IReadOnlyList<Assignment> assignments, CancellationToken ct)
    {
        var desired = assignments.ToDictionary(a => a.InstanceId, StringComparer.Ordinal);
        var stale = _instances.Values.Where(i => !desired.TryGetValue(i.Id, out var a) || a.Epoch != i.Assignment.Epoch).ToList();
        await Task.WhenAll(stale.Select(i => StopAsync(i, "no longer assigned to this node", ct)));

        foreach (var assignment in assignments)
        {
            if (_instances.ContainsKey(assignment.InstanceId)) continue;
            var instance = new SupervisedInstance(assignment);
            _instances[assignment.InstanceId] = instance;
            await AdoptOrStartAsync(instance, ct);
        }
        foreach (var instance in _instances.Values.ToList())
            await RefreshAsync(instance, ct);
    }

    /// <summary>Reports of every supervised instance, with log lines after the control plane's cursors.</summary>
    public async Task<List<InstanceReport>> ReportAsync(IReadOnlyDictionary<string, long> cursors, CancellationToken ct)
    {
        var reports = new List<InstanceReport>(_instances.Count);
        foreach (var i in _instances.Values)
        {
            IReadOnlyList<LogLine> logs = [];
            if (cursors.TryGetValue(i.Id, out var after) && _drivers.TryGetValue(i.Assignment.Spec.Driver, out var driver))
                logs = await driver.ReadLogsAsync(i.Id, after, 200, ct);
            reports.Add(new InstanceReport(i.Id, i.Assignment.Epoch, i.State, i.Reason, i.RestartCount, i.Pid, logs));
        }
        return reports;
    }

    /// <summary>Lets drivers that keep state on disk find workloads of an earlier agent process.</summary>
    public async Task<IReadOnlyList<WorkloadStatus>> RecoverAsync(string instancesDirectory, CancellationToken ct)
    {
        var found = new List<WorkloadStatus>();
        foreach (var driver in _drivers.Values.OfType<ProcessDriver>())
            found.AddRange(await Remember(driver, driver.RecoverAsync(instancesDirectory, ct)));
        foreach (var driver in _drivers.Values.OfType<DockerDriver>())
            found.AddRange(await Remember(driver, driver.RecoverAsync(ct)));
        return found;
    }

    /// <summary>
    /// Stops and forgets recovered workloads that the control plane no longer assigns to this node (removed or moved
    /// while the agent was down). Call only with an answer from the control plane, never with a stale list.
    /// </summary>
    public async Task StopUnassignedRecoveredAsync(IReadOnlyList<Assignment> assignments, CancellationToken ct)
    {
        if (_recovered.Count == 0) return;
        var desired = assignments.Select(a => a.InstanceId).ToHashSet(StringComparer.Ordinal);
        foreach (var (id, driverName) in _recovered.ToList())
        {
            _recovered.Remove(id);
            if (desired.Contains(id) || _instances.ContainsKey(id) || !_drivers.TryGetValue(driverName, out var driver)) continue;
            LogStopping(_logger, id, "recovered after an agent restart but no longer assigned to this node");
            await driver.StopAsync(id, _options.StopGracePeriod, ct);
            Forget(driver, id);
        }
    }

    private async Task<IReadOnlyList<WorkloadStatus>> Remember(IWorkloadDriver driver, Task<IReadOnlyList<WorkloadStatus>> recovery)
    {
        var found = await recovery;
        foreach (var status in found) _recovered[status.InstanceId] = driver.Name;
        return found;
    }

    /// <summary>Instance ids are never reused, so a driver's record of a stopped one is only history.</summary>
    private static void Forget(IWorkloadDriver driver, string instanceId)
    {
        if (driver is ProcessDriver process) process.Remove(instanceId);
        else if (driver is DockerDriver docker) docker.Remove(instanceId);
    }

    /// <summary>Stops every workload (graceful agent shutdown).</summary>
    public Task StopAllAsync(CancellationToken ct) =>
        Task.WhenAll(_instances.Values.ToList().Select(i => StopAsync(i, "agent shutting down", ct)));

    private async Task AdoptOrStartAsync(SupervisedInstance instance, CancellationToken ct)
    {
        if (!_drivers.TryGetValue(instance.Assignment.Spec.Driver, out var driver))
        {
            Fail(instance, $"driver \"{instance.Assignment.Spec.Driver}\" is not available on this node (it has {string.Join(", ", _drivers.Keys)})");
            return;
        }
        var status = await driver.GetStatusAsync(instance.Id, ct);
        if (status.State == WorkloadState.Running)
        {
            // Left running by an earlier agent process: keep it, do not start a duplicate.
            instance.Pid = status.Pid;
            instance.Reason = "adopted after agent restart";
            LogAdopted(_logger, instance.Id);
            return;
        }
        await StartAsync(instance, driver, ct);
    }

    private async Task StartAsync(SupervisedInstance instance, IWorkloadDriver driver, CancellationToken ct)
    {
        var a = instance.Assignment;
        var env = new Dictionary<string, string>
        {
            ["VC_INSTANCE_ID"] = a.InstanceId,
            ["VC_SERVICE"] = a.Spec.Name,
            ["VC_EPOCH"] = a.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["VC_NODE_ID"] = _nodeId,
            ["VC_NODE_NAME"] = _options.Name,
        };
        var dataDir = Path.Combine(_options.DataDirectory, "instances", a.InstanceId);
        var status = await driver.StartAsync(new WorkloadStartRequest(a.InstanceId, a.Epoch, a.Spec, a.Ports, env, dataDir), ct);
        if (status.State == WorkloadState.Failed)
        {
            Fail(instance, status.Message);
            return;
        }
        instance.State = InstanceState.Starting;
        // A driver that is still busy (pulling an image) says what it is doing.
        instance.Reason = status.State == WorkloadState.Starting && status.Message.Length > 0 ? status.Message : "started, waiting for the health check";
        instance.Pid = status.Pid;
        instance.RestartAt = null;
        LogStarted(_logger, a.InstanceId, status.Pid);
    }

    private async Task RefreshAsync(SupervisedInstance instance, CancellationToken ct)
    {
        if (instance.State is InstanceState.Failed or InstanceState.Exited) return;
        if (!_drivers.TryGetValue(instance.Assignment.Spec.Driver, out var driver)) return;
        var now = _time.GetUtcNow();
        if (instance.State == InstanceState.Restarting)
        {
            if (instance.RestartAt <= now) await StartAsync(instance, driver, ct);
            return;
        }

        var status = await driver.GetStatusAsync(instance.Id, ct);
        switch (status.State)
        {
            case WorkloadState.Starting when status.Message.Length > 0:
                // Not launched yet (e.g. pulling an image): nothing to probe; show the driver's progress.
                instance.State = InstanceState.Starting;
                instance.Reason = status.Message;
                break;
            case WorkloadState.Running or WorkloadState.Starting:
                instance.Pid = status.Pid;
                var interval = instance.Assignment.Spec.HealthCheck?.Interval ?? TimeSpan.FromSeconds(1);
                if (instance.State == InstanceState.Running && now - instance.LastProbe < interval) return;
                instance.LastProbe = now;
                var (healthy, reason) = await _probe.CheckAsync(instance.Assignment.Spec, instance.Assignment.Ports, ct);
                if (healthy)
                {
                    instance.State = InstanceState.Running;
                    instance.Reason = "";
                }
                else if (instance.State == InstanceState.Running)
                {
                    instance.State = InstanceState.Unhealthy;
                    instance.Reason = reason;
                }
                else
                {
                    instance.Reason = reason;
                }
                break;
            case WorkloadState.Exited or WorkloadState.Failed or WorkloadState.NotFound:
                OnExited(instance, status);
                break;
        }
    }

    private void OnExited(SupervisedInstance instance, WorkloadStatus status)
    {
        var what = status.State switch
        {
            WorkloadState.Exited => $"exited with code {status.ExitCode}",
            WorkloadState.NotFound => "is gone",
            _ => $"failed: {status.Message}",
        };
        var policy = instance.Assignment.Spec.RestartPolicy;
        var restart = policy == RestartPolicy.Always || (policy == RestartPolicy.OnFailure && status.ExitCode != 0);
        instance.Pid = null;
        if (!restart)
        {
            instance.State = status.ExitCode == 0 ? InstanceState.Exited : InstanceState.Failed;
            instance.Reason = $"process {what}; restart policy {policy} does not restart it";
            return;
        }
        if (instance.RestartCount >= _options.MaxRestarts)
        {
            Fail(instance, $"process {what}; gave up after {instance.RestartCount} restarts");
            return;
        }
        instance.RestartCount++;
        // Exponential backoff with jitter, capped, so a crash loop does not spin the machine.
        var backoff = TimeSpan.FromMilliseconds(Math.Min(MaxBackoff.TotalMilliseconds, 500 * Math.Pow(2, instance.RestartCount - 1)));
        backoff += TimeSpan.FromMilliseconds(Random.Shared.Next(0, 250));
        instance.State = InstanceState.Restarting;
        instance.Reason = $"process {what}; restart {instance.RestartCount} of {_options.MaxRestarts} in {backoff.TotalSeconds:0.#} s";
        instance.RestartAt = _time.GetUtcNow() + backoff;
        LogRestarting(_logger, instance.Id, what, instance.RestartCount);
    }

    private void Fail(SupervisedInstance instance, string reason)
    {
        instance.State = InstanceState.Failed;
        instance.Reason = reason;
        instance.Pid = null;
        LogFailed(_logger, instance.Id, reason);
    }

    private async Task StopAsync(SupervisedInstance instance, string why, CancellationToken ct)
    {
        _instances.Remove(instance.Id);
        if (!_drivers.TryGetValue(instance.Assignment.Spec.Driver, out var driver)) return;
        LogStopping(_logger, instance.Id, why);
        await driver.StopAsync(instance.Id, _options.StopGracePeriod, ct);
        Forget(driver, instance.Id);
    }
}
