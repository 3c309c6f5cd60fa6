using Docker.DotNet;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.Runtime.Docker.Engine;

namespace VirtualCluster.Runtime.Docker;

/// <summary>
/// Runs workloads as Docker containers through the Docker Engine API: one container per instance run, named
/// <c>vc-&lt;instance&gt;-&lt;owner hash&gt;</c> and labelled with cluster, node, service, instance and epoch
/// (<see cref="ContainerLabels"/>), so an agent touches only its own containers and can adopt them after it restarts.
/// </summary>
/// <remarks>
/// <para>Restarts belong to the agent's supervisor (backoff, restart limits, health), so containers get Docker's
/// restart policy "no". Health is likewise the agent's: its HTTP/TCP probes reach the published host port.</para>
/// <para>A missing image is pulled in the background: <see cref="StartAsync"/> returns state Starting and
/// <see cref="GetStatusAsync"/> reports "pulling image x: 45%" until the container runs or the pull fails.</para>
/// <para>Output is followed through the API into a bounded buffer; Docker keeps the full log. Status comes from
/// a watcher per container, so reads never wait on the daemon. A daemon that stops answering turns running
/// instances Failed with the reason. Disposing the driver never stops containers.</para>
/// </remarks>
public sealed partial class DockerDriver : IWorkloadDriver, IAsyncDisposable
{
    /// <summary>Lines the driver itself writes into an instance's log start with this.</summary>
    public const string NoticePrefix = "[docker driver] ";

    private readonly DockerDriverOptions _options;
    private readonly IDockerEngine _engine;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _sync = new();
    private readonly Dictionary<string, ContainerInstance> _instances = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _disposing = new();
    private int _available = -1;
    private bool _disposed;

    /// <summary>Creates a driver for the daemon at <see cref="DockerDriverOptions.Endpoint"/>. Connects lazily.</summary>
    /// <param name="options">Settings; <see cref="DockerDriverOptions.Cluster"/> and <see cref="DockerDriverOptions.Node"/> are required.</param>
    /// <param name="logger">Logger; none when null.</param>
    /// <param name="timeProvider">Clock for timestamps and waits; the system clock when null.</param>
    /// <exception cref="ArgumentException">The options are not valid; the message lists every problem.</exception>
    public DockerDriver(DockerDriverOptions options, ILogger<DockerDriver>? logger = null, TimeProvider? timeProvider = null)
        : this(Validated(options), engine: null, logger, timeProvider)
    {
    }

    internal DockerDriver(DockerDriverOptions options, IDockerEngine? engine, ILogger? logger, TimeProvider? timeProvider)
    {
        _options = Validated(options);
        _engine = engine ?? new DockerEngine(options.Endpoint, options.RequestTimeout);
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public string Name => "docker";

    /// <summary>The daemon address this driver talks to.</summary>
    public string Endpoint => _engine.Endpoint;

    /// <inheritdoc />
    /// <remarks>Pings the daemon, waiting at most <see cref="DockerDriverOptions.PingTimeout"/>. Never throws for daemon trouble.</remarks>
    public async Task<bool> IsAvailableAsync(CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.PingTimeout);
        string? problem = null;
        try
        {
            await _engine.PingAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            problem = $"no answer within {_options.PingTimeout.TotalSeconds:0.#} s";
        }
        catch (Exception e) when (e is DockerApiException || DockerErrors.IsDaemonUnreachable(e))
        {
            problem = DockerErrors.Message(e);
        }
        var now = problem is null ? 1 : 0;
        if (Interlocked.Exchange(ref _available, now) != now)
        {
            if (problem is null) LogDaemonAvailable(_engine.Endpoint);
            else LogDaemonUnavailable(_engine.Endpoint, problem);
        }
        return problem is null;
    }

    /// <inheritdoc />
    public Task<WorkloadStatus> GetStatusAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        var instance = Find(instanceId);
        return Task.FromResult(instance?.Snapshot() ?? new WorkloadStatus(instanceId, WorkloadState.NotFound));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<WorkloadStatus>> ListAsync(CancellationToken cancellationToken = default)
    {
        ContainerInstance[] all;
        lock (_sync) all = [.. _instances.Values];
        return Task.FromResult<IReadOnlyList<WorkloadStatus>>([.. all.OrderBy(i => i.Id, StringComparer.Ordinal).Select(i => i.Snapshot())]);
    }

    /// <inheritdoc />
    /// <remarks>Unknown instances have no lines. Lines older than the in-memory buffer are in Docker's own log (<c>docker logs</c>).</remarks>
    public Task<IReadOnlyList<LogLine>> ReadLogsAsync(string instanceId, long afterSequence, int maxLines, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        return Task.FromResult(Find(instanceId)?.Logs.Read(afterSequence, maxLines) ?? []);
    }

    /// <summary>The id of the instance's current (or last) container, when it has one.</summary>
    public bool TryGetContainerId(string instanceId, out string containerId)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        containerId = Find(instanceId)?.ContainerId ?? "";
        return containerId.Length > 0;
    }

    /// <summary>The fencing epoch an instance was started (or adopted) with; false when unknown.</summary>
    public bool TryGetEpoch(string instanceId, out long epoch)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        var instance = Find(instanceId);
        epoch = instance?.Epoch ?? 0;
        return instance is not null;
    }

    /// <summary>Forgets a finished instance (status and buffered output). No-op for unknown ids.</summary>
    /// <exception cref="InvalidOperationException">The instance is still starting or running; stop it first.</exception>
    public void Remove(string instanceId)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        ContainerInstance? instance;
        lock (_sync)
        {
            if (!_instances.TryGetValue(instanceId, out instance)) return;
            if (instance.IsActive) throw new InvalidOperationException($"Instance {instanceId} is still running; stop it before removing it.");
            _instances.Remove(instanceId);
        }
    }

    /// <summary>Stops following containers and closes the connection. Containers are left running; the agent decides their fate.</summary>
    public ValueTask DisposeAsync()
    {
        lock (_sync)
        {
            if (_disposed) return ValueTask.CompletedTask;
            _disposed = true;
        }
        _disposing.Cancel();
        _engine.Dispose();
        return ValueTask.CompletedTask;
    }

    private ContainerInstance? Find(string instanceId)
    {
        lock (_sync) return _instances.GetValueOrDefault(instanceId);
    }

    private void AddNotice(ContainerInstance instance, string text) =>
        instance.Logs.Append(_time.GetUtcNow(), "stderr", NoticePrefix + text);

    private static DockerDriverOptions Validated(DockerDriverOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        return errors.Count == 0 ? options : throw new ArgumentException("Invalid Docker driver options: " + string.Join(" ", errors), nameof(options));
    }
}
