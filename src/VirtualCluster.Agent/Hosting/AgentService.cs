using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Agent.Connection;
using VirtualCluster.Agent.Fencing;
using VirtualCluster.Agent.Monitoring;
using VirtualCluster.Agent.Replication;
using VirtualCluster.Agent.Supervision;
using VirtualCluster.Api;

namespace VirtualCluster.Agent;

/// <summary>
/// The agent's two loops: heartbeats at a fixed rate (join once, report, hand the answer to supervision, renew the
/// fencing lease) and supervision (start, stop, probe, restart, fence). They are separate so that stopping or
/// probing a workload never delays a heartbeat. While the control plane is unreachable the agent keeps its
/// workloads running and supervised, except singletons once the fencing lease runs out; it reports again, with
/// what it did meanwhile, when the control plane is back.
/// </summary>
internal sealed partial class AgentService : BackgroundService
{
    private const int MaxEventsPerReport = 100;
    private static readonly TimeSpan DriverCheckInterval = TimeSpan.FromSeconds(2);
    private readonly AgentOptions _options;
    private readonly ControlPlaneClient _client;
    private readonly InstanceSupervisor _supervisor;
    private readonly ResourceCollector _collector;
    private readonly FencingLease _lease;
    private readonly FenceWatchdog? _watchdog;
    private readonly TimeProvider _time;
    private readonly InstanceUsageSampler _instanceUsage;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<AgentService> _logger;
    // Null over plain http: a certificate is only worth asking for when there is TLS to present it on.
    private readonly AgentCertificate? _certificate;
    private TaskCompletionSource _wakeSupervision = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile IReadOnlyList<Assignment>? _assignments;
    private IReadOnlyDictionary<string, long> _cursors = new Dictionary<string, long>();
    private volatile AgentIdentity? _identity;
    // Set when the control plane refused our saved identity: the next join must use the join token, not agent.json again.
    private volatile bool _savedIdentityRefused;
    private volatile DrainStatus? _drain;
    private volatile bool _reachable = true;
    private volatile IReadOnlyDictionary<int, string> _guarded = new Dictionary<int, string>();
    private volatile IReadOnlyList<string> _drivers = [];
    private TimeSpan _interval;

    /// <summary>Where the current identity is published for replication (tokens presented to and checked for peers).</summary>
    public MachineIdentity? Identity { get; init; }

    /// <summary>This node's replica server, started with the agent and advertised in every report.</summary>
    public ReplicaHost? Replicas { get; init; }

    /// <summary>Replicators of this node's instances, kept in line with the assignments.</summary>
    public VolumeReplication? Volumes { get; init; }

    public AgentService(IOptions<AgentOptions> options, ControlPlaneClient client, InstanceSupervisor supervisor, ResourceCollector collector,
        FencingLease lease, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<AgentService> logger, FenceWatchdog? watchdog = null,
        AgentCertificate? certificate = null)
    {
        _certificate = options.Value.ServerUrl.TrimStart().StartsWith("https:", StringComparison.OrdinalIgnoreCase) ? certificate : null;
        _options = options.Value;
        _client = client;
        _supervisor = supervisor;
        _collector = collector;
        _lease = lease;
        _watchdog = watchdog;
        _time = time;
        _instanceUsage = new InstanceUsageSampler("/proc", time);
        _lifetime = lifetime;
        _logger = logger;
        _interval = _options.HeartbeatInterval;
        if (_watchdog is not null) _watchdog.Fenced += OnWatchdogFenced;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.Docker == DockerMode.On && !(await _supervisor.AvailableDriverNamesAsync(stoppingToken)).Contains("docker"))
        {
            LogDockerRequired(_logger, _options.DockerEndpoint);
            Environment.ExitCode = 2;
            _lifetime.StopApplication();
            return;
        }
        // Find workloads an earlier agent process left running, so they are adopted, not started twice.
        foreach (var recovered in await _supervisor.RecoverAsync(Path.Combine(_options.DataDirectory, "instances"), stoppingToken))
            LogRecovered(_logger, recovered.InstanceId, recovered.State.ToString());
        _watchdog?.Start();
        Replicas?.Start();
        _drivers = await _supervisor.AvailableDriverNamesAsync(stoppingToken);
        var supervision = SuperviseAsync(stoppingToken);
        var drivers = RefreshDriversAsync(stoppingToken);
        var collect = CollectReplicasAsync(stoppingToken);
        try
        {
            await HeartbeatAsync(stoppingToken);
        }
        finally
        {
            await supervision;
            await drivers;
            await collect;
        }
    }

    /// <summary>
    /// Keeps the advertised driver list current (Docker only while its daemon answers) off the heartbeat's path:
    /// a daemon that is slow to answer a ping must not delay heartbeats, or the node would look late.
    /// </summary>
    private async Task RefreshDriversAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(DriverCheckInterval, _time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            if (stoppingToken.IsCancellationRequested) break;
            try
            {
                _drivers = await _supervisor.AvailableDriverNamesAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                LogSupervisionFailed(_logger, e);
            }
        }
    }

    /// <summary>
    /// Every <see cref="AgentOptions.ReplicaCollectInterval"/>, asks which replicas this node must keep and deletes the
    /// ones unwanted for longer than the retention. Without an answer nothing is deleted.
    /// </summary>
    private async Task CollectReplicasAsync(CancellationToken stoppingToken)
    {
        if (Replicas is null) return;
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(_options.ReplicaCollectInterval, _time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            if (stoppingToken.IsCancellationRequested || Replicas.Port is null || _identity is not { } me) continue;
            try
            {
                var keep = await _client.ReplicasToKeepAsync(me, stoppingToken);
                Replicas.Collect(keep.Volumes ?? [], _time.GetUtcNow());
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                LogReplicaCollectFailed(_logger, e.Message);
            }
        }
    }

    /// <summary>Sends a heartbeat every interval, measured from one send to the next, not from answer to send.</summary>
    private async Task HeartbeatAsync(CancellationToken stoppingToken)
    {
        var next = _time.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = _time.GetElapsedTime(_time.GetTimestamp(), next);
            if (_options.HeartbeatJitter > TimeSpan.Zero) wait += _options.HeartbeatJitter * Random.Shared.NextDouble();
            if (wait > TimeSpan.Zero) await Task.Delay(wait, _time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            if (stoppingToken.IsCancellationRequested) break;
            var sentAt = _time.GetTimestamp();
            if (!await BeatOnceAsync(sentAt, stoppingToken)) return;
            // After the answer, so an interval it changes applies to this very gap (the control plane judges it so).
            next = sentAt + (long)(_interval.TotalSeconds * _time.TimestampFrequency);
        }
    }

    /// <summary>One report and its answer; false when the agent must stop (it cannot join).</summary>
    private async Task<bool> BeatOnceAsync(long sentAt, CancellationToken ct)
    {
        var uptimeAtSend = FenceWatchdog.UptimeCentiseconds();
        try
        {
            var identity = _identity ??= await JoinAsync(ct);
            if (identity is null) return false;
            if (Identity is not null) Identity.Current = identity;
            _supervisor.SetNode(identity.NodeId);
            var events = _supervisor.PendingEvents(MaxEventsPerReport);
            // Only drivers that can run workloads now are advertised (Docker while its daemon answers), as last checked.
            var usage = _collector.SampleUsage();
            var request = new HeartbeatRequest(_options.MachineShare is { } share ? share.Apply(usage) : usage, Capacity(), [.. _drivers],
                _instanceUsage.Attach(await _supervisor.ReportAsync(_cursors, ct)), events.Count > 0 ? events : null, _certificate?.RequestIfDue(_options.Name), Replicas?.Port);
            var response = await _client.HeartbeatAsync(identity, request, ct);
            if (response.ClientCertificate is { Length: > 0 } certificate) _certificate?.Accept(certificate);
            if (response.RenewedToken is { Length: > 0 } renewed && renewed != identity.Token)
            {
                // Saved before use: tunnels and peer links read the token from agent.json when they (re)connect.
                var next = identity with { Token = renewed };
                next.Save(_options.DataDirectory);
                _identity = next;
                if (Identity is not null) Identity.Current = next;
                LogTokenRenewed(_logger);
            }
            _supervisor.RemoveEvents(events);
            _lease.Renew(sentAt, response.FencingLease);
            RenewWatchdog(uptimeAtSend, response.FencingLease);
            if (!_reachable) LogReconnected(_logger, _options.ServerUrl);
            _reachable = true;
            _cursors = response.LogCursors ?? new Dictionary<string, long>();
            _interval = Clamp(response.HeartbeatInterval);
            _drain = response.Drain;
            _assignments = response.Assignments ?? [];
            WakeSupervision();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (ControlPlaneRejectedException e) when (e.Status is HttpStatusCode.Unauthorized or HttpStatusCode.NotFound
            || (e.Status == HttpStatusCode.Forbidden && _certificate is { Current: null }))
        {
            // The control plane forgot us (new cluster, reset data), or requires a client certificate and ours expired
            // while we were cut off (none can be had in a heartbeat then): join again with the join token.
            LogRejoining(_logger, e.Message);
            _savedIdentityRefused = true;
            _identity = null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or ControlPlaneRejectedException)
        {
            if (_reachable) LogUnreachable(_logger, _options.ServerUrl, e.Message);
            _reachable = false;
            WakeSupervision(); // the lease may run out while we wait
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug in building one report must not stop the heartbeats for good (the node would be declared down).
            LogHeartbeatFailed(_logger, e);
        }
        return true;
    }

    /// <summary>Tells the watchdog which singleton processes to kill if no later heartbeat renews the lease.</summary>
    private void RenewWatchdog(long? uptimeAtSend, TimeSpan lease)
    {
        if (_watchdog is null) return;
        if (lease <= TimeSpan.Zero || uptimeAtSend is null)
        {
            _watchdog.Clear();
            return;
        }
        var guarded = _supervisor.Snapshot.Where(s => s.FencedSingleton && s.Pid is not null).ToDictionary(s => s.Pid!.Value, s => s.Id);
        _guarded = guarded;
        _watchdog.Renew(uptimeAtSend.Value + (long)(lease.TotalMilliseconds / 10), guarded.Keys);
    }

    /// <summary>The watchdog's kills are reported like the agent's own fencing, by instance.</summary>
    private void OnWatchdogFenced(int pid)
    {
        if (_guarded.TryGetValue(pid, out var instanceId)) _supervisor.OnFencedByWatchdog(instanceId, pid);
    }

    private void WakeSupervision() => Volatile.Read(ref _wakeSupervision).TrySetResult();

    /// <summary>Applies the latest assignments whenever they change, and every supervision interval for probes, restarts and fencing.</summary>
    private async Task SuperviseAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wake = Volatile.Read(ref _wakeSupervision);
            await Task.WhenAny(wake.Task, Task.Delay(_options.SupervisionInterval, _time, stoppingToken)).ConfigureAwait(false);
            if (stoppingToken.IsCancellationRequested) break;
            if (wake.Task.IsCompleted)
                Interlocked.CompareExchange(ref _wakeSupervision, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), wake);
            // Nothing is supervised before the control plane has answered once: what runs was adopted and waits for it.
            if (_assignments is not { } assignments) continue;
            try
            {
                await _supervisor.ApplyAsync(assignments, stoppingToken);
                // A singleton whose lease ran out was stopped and no longer owns its data: it must not push it either.
                if (Volumes is not null && _identity is { } me)
                    await Volumes.ApplyAsync(assignments, me.NodeId, a => !(a.Spec.IsFencedSingleton && _lease.IsExpired));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                LogSupervisionFailed(_logger, e);
            }
        }
    }

    private VirtualCluster.Resources Capacity()
    {
        var measured = _collector.GetCapacity();
        if (_options.MachineShare is { } share) measured = share.Apply(measured);
        return measured with
        {
            CpuMillicores = _options.CpuMillicores ?? measured.CpuMillicores,
            MemoryBytes = _options.MemoryBytes ?? measured.MemoryBytes,
        };
    }

    // Up to 5 minutes: a large cluster's control plane spreads heartbeats over a longer interval (ClusterService.MaxHeartbeatInterval).
    private static TimeSpan Clamp(TimeSpan interval) =>
        interval < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100)
        : interval > TimeSpan.FromMinutes(5) ? TimeSpan.FromMinutes(5) : interval;
}
