using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Agent.Connection;
using VirtualCluster.Agent.Monitoring;
using VirtualCluster.Agent.Supervision;
using VirtualCluster.Api;

namespace VirtualCluster.Agent;

/// <summary>
/// The agent's main loop: join once, then report every interval and apply the answer. While the control plane
/// is unreachable the agent keeps its workloads running and supervised, and reports again when it is back.
/// </summary>
internal sealed partial class AgentService : BackgroundService
{
    private readonly AgentOptions _options;
    private readonly ControlPlaneClient _client;
    private readonly InstanceSupervisor _supervisor;
    private readonly ResourceCollector _collector;
    private readonly TimeProvider _time;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<AgentService> _logger;
    private IReadOnlyList<Assignment> _assignments = [];
    private IReadOnlyDictionary<string, long> _cursors = new Dictionary<string, long>();

    public AgentService(IOptions<AgentOptions> options, ControlPlaneClient client, InstanceSupervisor supervisor,
        ResourceCollector collector, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<AgentService> logger)
    {
        _options = options.Value;
        _client = client;
        _supervisor = supervisor;
        _collector = collector;
        _time = time;
        _lifetime = lifetime;
        _logger = logger;
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
        AgentIdentity? identity = null;
        var interval = _options.HeartbeatInterval;
        var reachable = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                identity ??= await JoinAsync(stoppingToken);
                if (identity is null) return;
                _supervisor.SetNode(identity.NodeId);
                var response = await _client.HeartbeatAsync(identity, await BuildReportAsync(stoppingToken), stoppingToken);
                if (!reachable) LogReconnected(_logger, _options.ServerUrl);
                reachable = true;
                _assignments = response.Assignments ?? [];
                _cursors = response.LogCursors ?? new Dictionary<string, long>();
                interval = Clamp(response.HeartbeatInterval);
                await _supervisor.StopUnassignedRecoveredAsync(_assignments, stoppingToken);
                await _supervisor.ApplyAsync(_assignments, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (ControlPlaneRejectedException e) when (e.Status is HttpStatusCode.Unauthorized or HttpStatusCode.NotFound)
            {
                // The control plane forgot us (new cluster, reset data): join again with the join token.
                LogRejoining(_logger, e.Message);
                identity = null;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or ControlPlaneRejectedException)
            {
                if (reachable) LogUnreachable(_logger, _options.ServerUrl, e.Message);
                reachable = false;
                // Keep supervising what we were told to run until the control plane answers again.
                await _supervisor.ApplyAsync(_assignments, stoppingToken);
            }
            await Task.Delay(interval, _time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_options.StopWorkloadsOnShutdown)
            await _supervisor.StopAllAsync(cancellationToken);
    }

    private async Task<HeartbeatRequest> BuildReportAsync(CancellationToken ct) =>
        new(_collector.SampleUsage(), Capacity(), [.. await _supervisor.AvailableDriverNamesAsync(ct)], await _supervisor.ReportAsync(_cursors, ct));

    private VirtualCluster.Resources Capacity()
    {
        var measured = _collector.GetCapacity();
        return measured with
        {
            CpuMillicores = _options.CpuMillicores ?? measured.CpuMillicores,
            MemoryBytes = _options.MemoryBytes ?? measured.MemoryBytes,
        };
    }

    private async Task<AgentIdentity?> JoinAsync(CancellationToken ct)
    {
        var saved = AgentIdentity.Load(_options.DataDirectory);
        if (saved is not null && saved.ServerUrl == _options.ServerUrl) return saved;
        if (string.IsNullOrWhiteSpace(_options.JoinToken))
        {
            LogNoJoinToken(_logger);
            Environment.ExitCode = 2;
            _lifetime.StopApplication();
            return null;
        }
        var request = new JoinRequest(_options.JoinToken, _options.Name, _options.Address, Capacity(),
            [.. await _supervisor.AvailableDriverNamesAsync(ct)], _options.Ports, _options.Labels);
        try
        {
            var joined = await _client.JoinAsync(request, ct);
            var identity = new AgentIdentity(_options.ServerUrl, joined.NodeId, joined.Token);
            identity.Save(_options.DataDirectory);
            LogJoined(_logger, _options.Name, joined.NodeId);
            return identity;
        }
        catch (ControlPlaneRejectedException e) when ((int)e.Status is >= 400 and < 500)
        {
            // A bad join token or request will not get better by retrying.
            LogJoinRejected(_logger, e.Message);
            Environment.ExitCode = 2;
            _lifetime.StopApplication();
            return null;
        }
    }

    private static TimeSpan Clamp(TimeSpan interval) =>
        interval < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100)
        : interval > TimeSpan.FromSeconds(30) ? TimeSpan.FromSeconds(30) : interval;
}
