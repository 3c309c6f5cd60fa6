using Microsoft.Extensions.Logging;
using VirtualCluster.Agent.Fencing;
using VirtualCluster.Api;
using VirtualCluster.Runtime;
using VirtualCluster.Runtime.Docker;
using VirtualCluster.Runtime.Process;

namespace VirtualCluster.Agent.Supervision;

/// <summary>
/// Makes the local workloads match the control plane's assignments: starts what is missing, stops what is no
/// longer assigned (including stale epochs and recovered workloads of an earlier agent run), restarts exits and
/// unhealthy instances by restart policy with capped exponential backoff, and stops singletons when the fencing
/// lease runs out. One supervision loop drives <see cref="ApplyAsync"/>; the heartbeat loop reads the snapshot
/// it publishes (<see cref="ReportAsync"/>), so a slow stop or probe never delays a heartbeat.
/// </summary>
internal sealed partial class InstanceSupervisor
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private readonly Dictionary<string, SupervisedInstance> _instances = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task> _stopping = new(StringComparer.Ordinal);
    private readonly IReadOnlyDictionary<string, IWorkloadDriver> _drivers;
    private readonly HealthProbe _probe;
    private readonly TimeProvider _time;
    private readonly AgentOptions _options;
    private readonly FencingLease _lease;
    private readonly ILogger _logger;
    private readonly Lock _eventsGate = new();
    private readonly List<AgentEvent> _events = [];
    private readonly HashSet<string> _fencedReported = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _recovered = new(StringComparer.Ordinal);
    private volatile IReadOnlyList<InstanceSnapshot> _snapshot = [];
    private string _nodeId = "";

    public InstanceSupervisor(IEnumerable<IWorkloadDriver> drivers, HealthProbe probe, TimeProvider time, AgentOptions options, ILogger logger,
        FencingLease? lease = null)
    {
        _drivers = drivers.ToDictionary(d => d.Name, StringComparer.Ordinal);
        _probe = probe;
        _time = time;
        _options = options;
        _logger = logger;
        _lease = lease ?? new FencingLease(time);
    }

    public IReadOnlyCollection<string> DriverNames => _drivers.Keys.ToList();

    /// <summary>Gives instances the local addresses of the cluster's services (<c>VC_SERVICE_&lt;NAME&gt;_URL</c>); null: none.</summary>
    public Gateway.ServiceCallProxy? ServiceCalls { get; init; }

    /// <summary>The last published state of every supervised instance.</summary>
    public IReadOnlyList<InstanceSnapshot> Snapshot => _snapshot;

    /// <summary>Drivers that can run workloads right now (e.g. Docker only while its daemon answers): what the agent advertises.</summary>
    public async Task<IReadOnlyList<string>> AvailableDriverNamesAsync(CancellationToken ct)
    {
        var available = new List<string>(_drivers.Count);
        foreach (var (name, driver) in _drivers)
            if (await driver.IsAvailableAsync(ct)) available.Add(name);
        return available;
    }

    public void SetNode(string nodeId) => _nodeId = nodeId;

    /// <summary>
    /// Applies the full desired set, which must come from an answer of the control plane: anything not in it is
    /// stopped (in the background, recovered workloads included), the rest is started, probed and restarted as needed.
    /// </summary>
    public async Task ApplyAsync(IReadOnlyList<Assignment> assignments, CancellationToken ct)
    {
        await FenceIfExpiredAsync(ct);

        var desired = assignments.ToDictionary(a => a.InstanceId, StringComparer.Ordinal);
        foreach (var stale in _instances.Values.Where(i => !desired.TryGetValue(i.Id, out var a) || a.Epoch != i.Assignment.Epoch).ToList())
            BeginStop(stale, "no longer assigned to this node");
        await StopUnassignedRecoveredAsync(assignments, ct);
        foreach (var done in _stopping.Where(s => s.Value.IsCompleted).Select(s => s.Key).ToList()) _stopping.Remove(done);
        ApplyMoves(assignments, desired);

        foreach (var assignment in assignments)
        {
            if (assignment.Move || _instances.ContainsKey(assignment.InstanceId) || _stopping.ContainsKey(assignment.InstanceId)) continue;
            // A singleton must not start while the lease has run out: the control plane may be starting it elsewhere.
            if (assignment.Spec.IsFencedSingleton && _lease.IsExpired) continue;
            var instance = new SupervisedInstance(assignment);
            _instances[assignment.InstanceId] = instance;
            await AdoptOrStartAsync(instance, ct);
        }
        Publish();
        await Task.WhenAll(_instances.Values.ToList().Select(i => RefreshAsync(i, ct)));
        Publish();
    }

    /// <summary>Reports of every supervised instance, with log lines after the control plane's cursors.</summary>
    public async Task<List<InstanceReport>> ReportAsync(IReadOnlyDictionary<string, long> cursors, CancellationToken ct)
    {
        var snapshot = _snapshot;
        var reports = new List<InstanceReport>(snapshot.Count);
        foreach (var i in snapshot)
        {
            IReadOnlyList<LogLine> logs = [];
            if (cursors.TryGetValue(i.Id, out var after) && _drivers.TryGetValue(i.Driver, out var driver))
                logs = await driver.ReadLogsAsync(i.Id, after, 200, ct);
            reports.Add(new InstanceReport(i.Id, i.Epoch, i.State, i.Reason, i.RestartCount, i.Pid, logs, SyncReports(i.Id)));
        }
        reports.AddRange(MoveReports());
        return reports;
    }

    /// <summary>Events recorded since the last <see cref="RemoveEvents"/> (the oldest first, at most <paramref name="max"/>).</summary>
    public IReadOnlyList<AgentEvent> PendingEvents(int max)
    {
        lock (_eventsGate) return _events.Take(max).ToList();
    }

    /// <summary>Forgets events the control plane has received.</summary>
    public void RemoveEvents(IReadOnlyList<AgentEvent> delivered)
    {
        lock (_eventsGate) _events.RemoveAll(delivered.Contains);
    }

    /// <summary>Lets drivers that keep state find workloads of an earlier agent process.</summary>
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

    /// <summary>Stops every workload (graceful agent shutdown) and waits for stops already under way.</summary>
    public async Task StopAllAsync(CancellationToken ct)
    {
        foreach (var instance in _instances.Values.ToList()) BeginStop(instance, "agent shutting down");
        await Task.WhenAll(_stopping.Values.ToList());
        _stopping.Clear();
        Publish();
    }

    private void Publish() =>
        _snapshot = _instances.Values.Select(i => new InstanceSnapshot(i.Id, i.Assignment.Epoch, i.Assignment.Spec.Driver, i.State, i.Reason,
            i.RestartCount, i.Pid, i.Assignment.Spec.IsFencedSingleton && !i.Fenced, i.Assignment.Ports.Values.ToArray(),
            i.Assignment.Spec.Name, i.Assignment.Spec.BrowserDirect)).ToList();

    /// <summary>
    /// The watchdog killed <paramref name="instanceId"/> (process <paramref name="pid"/>) while the agent could not act
    /// (paused or hung): record the fencing, unless the agent already did. Safe to call from any thread.
    /// </summary>
    public void OnFencedByWatchdog(string instanceId, int pid) =>
        RecordEvent(EventKinds.InstanceFenced, instanceId,
            $"the fencing watchdog stopped {instanceId} (pid {pid}): no answer from the control plane within the {_lease.Duration.TotalSeconds:0.0} s lease while the agent could not act");

    private void RecordEvent(string kind, string instanceId, string message)
    {
        lock (_eventsGate)
        {
            // One fencing event per instance, whichever of the agent and the watchdog stopped it first.
            if (kind == EventKinds.InstanceFenced && !_fencedReported.Add(instanceId)) return;
            _events.Add(new AgentEvent(_time.GetUtcNow(), kind, instanceId, message));
            if (_events.Count > 1000) _events.RemoveAt(0); // a very long outage keeps the newest
        }
    }

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
            instance.StartedAt = _time.GetUtcNow();
            LogAdopted(_logger, instance.Id);
            return;
        }
        await StartAsync(instance, driver, ct);
    }

    private async Task StartAsync(SupervisedInstance instance, IWorkloadDriver driver, CancellationToken ct)
    {
        var a = instance.Assignment;
        var dataDir = Path.Combine(_options.DataDirectory, "instances", a.InstanceId);
        instance.RestartAt = null;
        try
        {
            SeedVolumes(a);
        }
        catch (IOException e)
        {
            OnExited(instance, new WorkloadStatus(a.InstanceId, WorkloadState.Failed, Message: "could not start: " + e.Message));
            return;
        }
        // The addresses of the other services (VC_SERVICE_<NAME>_URL) as of now: a service deployed later is not among them.
        if (ServiceCalls is { Enabled: true } calls) await calls.RefreshAsync(ct);
        var status = await driver.StartAsync(new WorkloadStartRequest(a.InstanceId, a.Epoch, a.Spec, a.Ports, ClusterEnvironment(a), dataDir), ct);
        if (status.State == WorkloadState.Failed)
        {
            // A failed start is retried like an exit (backoff, restart limit): a missing file may appear, a busy port free up.
            OnExited(instance, status with { ExitCode = null, Message = "could not start: " + status.Message });
            return;
        }
        instance.State = InstanceState.Starting;
        // A driver that is still busy (pulling an image) says what it is doing.
        instance.Reason = status.State == WorkloadState.Starting && status.Message.Length > 0 ? status.Message : "started, waiting for the health check";
        instance.Pid = status.Pid;
        instance.StartedAt = _time.GetUtcNow();
        instance.EverHealthy = false;
        instance.ConsecutiveFailures = 0;
        instance.LastProbe = DateTimeOffset.MinValue;
        LogStarted(_logger, a.InstanceId, status.Pid);
    }

    /// <summary>Variables the agent adds for every workload (and its command health check).</summary>
    private Dictionary<string, string> ClusterEnvironment(Assignment a)
    {
        var env = new Dictionary<string, string>();
        if (ServiceCalls is { Enabled: true } calls)
            foreach (var (key, value) in calls.Environment()) env[key] = value;
        env["VC_INSTANCE_ID"] = a.InstanceId;
        env["VC_SERVICE"] = a.Spec.Name;
        env["VC_EPOCH"] = a.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["VC_NODE_ID"] = _nodeId;
        env["VC_NODE_NAME"] = _options.Name;
        return env;
    }

    /// <summary>Stops an instance that is no longer wanted here, without waiting for it.</summary>
    private void BeginStop(SupervisedInstance instance, string why)
    {
        _instances.Remove(instance.Id);
        if (!_drivers.TryGetValue(instance.Assignment.Spec.Driver, out var driver)) return;
        LogStopping(_logger, instance.Id, why);
        _stopping[instance.Id] = instance.Stopping is { IsCompleted: false } previous
            ? previous.ContinueWith(_ => StopWorkloadAsync(driver, instance.Id, _options.StopGracePeriod, CancellationToken.None), TaskScheduler.Default).Unwrap()
            : StopWorkloadAsync(driver, instance.Id, _options.StopGracePeriod, CancellationToken.None);
    }

    private async Task StopWorkloadAsync(IWorkloadDriver driver, string instanceId, TimeSpan grace, CancellationToken ct)
    {
        try
        {
            await driver.StopAsync(instanceId, grace, ct);
            Forget(driver, instanceId);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogStopFailed(_logger, instanceId, e.Message);
        }
    }
}
