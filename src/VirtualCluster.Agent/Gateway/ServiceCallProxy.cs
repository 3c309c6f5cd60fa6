using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using VirtualCluster.Agent.Connection;
using VirtualCluster.Routing.ServiceCalls;

namespace VirtualCluster.Agent.Gateway;

/// <summary>
/// Service-to-service calls from this node's instances: one local port per service of the cluster (on
/// <see cref="AgentOptions.ServiceCallsAddress"/>), given to instances as <c>VC_SERVICE_&lt;NAME&gt;_URL</c>. Each
/// connection to such a port is carried over the agent's tunnel to a gateway, which connects it to a healthy instance
/// of the service wherever it runs (<see cref="ServiceCallProtocol"/>), so a call follows failovers like the gateway's
/// URL does. Bytes are passed through untouched (any TCP protocol); when the gateway cannot connect the call, the
/// caller gets a short HTTP error response (404 unknown service, 503 failing over, 502 unreachable) and the
/// connection closes. Ports are kept in <c>service-calls.json</c> so instances adopted after an agent restart keep
/// working addresses.
/// </summary>
internal sealed partial class ServiceCallProxy : IAsyncDisposable
{
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan NamesTimeout = TimeSpan.FromSeconds(2);
    // Longer than a gateway may take to answer: it tries up to MaxAttempts instances for ConnectTimeout each (3 x 5 s).
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(30);
    private readonly AgentOptions _options;
    private readonly ControlPlaneClient? _controlPlane;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Socket> _listeners = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private readonly Meter _meter = new("VirtualCluster.Agent");
    private readonly Counter<long> _calls;
    private readonly IPAddress _address;
    private long _namesFailedAt = long.MinValue;
    private int _open;

    public ServiceCallProxy(AgentOptions options, ControlPlaneClient? controlPlane, ILogger<ServiceCallProxy> logger, TimeProvider time)
    {
        _options = options;
        _controlPlane = controlPlane;
        _logger = logger;
        _time = time;
        _address = IPAddress.Parse(options.ServiceCallsAddress);
        _calls = _meter.CreateCounter<long>("vcluster.agent.service_calls", description: "Connections instances opened to other services, by service and result (connected, notunnel, or the gateway's refusal)");
    }

    /// <summary>Opens a stream to a gateway (the tunnel client's, once it runs); null while there is none.</summary>
    public Func<int, CancellationToken, Task<Stream>>? OpenToGateway { get; set; }

    /// <summary>True when instances get service addresses: turned on and at least one gateway.</summary>
    public bool Enabled => _options.ServiceCalls && _options.Gateways.Trim().Length > 0;

    /// <summary>The variables for instances: <c>VC_SERVICE_&lt;NAME&gt;_URL</c> for every service with a port now.</summary>
    public IReadOnlyDictionary<string, string> Environment() =>
        _listeners.ToDictionary(l => VariableName(l.Key), l => $"http://{Host(_address)}:{((IPEndPoint)l.Value.LocalEndPoint!).Port}");

    /// <summary><c>VC_SERVICE_&lt;NAME&gt;_URL</c>: upper case, every character other than a letter or digit an underscore.</summary>
    public static string VariableName(string service) =>
        "VC_SERVICE_" + new string(service.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToUpperInvariant(c) : '_').ToArray()) + "_URL";

    /// <summary>
    /// Reads the cluster's service names (waiting at most 2 s; not again for 2 s after a failed read) and opens a port for each new one,
    /// before an instance starts. Never throws: without the control plane the ports known so far are used.
    /// </summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        if (!Enabled || _controlPlane is null) return;
        if (!await _refresh.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false)) return;
        try
        {
            // Read before every start (a service deployed a moment ago must be in the next instance's environment;
            // skipping reads for a while after one gave instances stale names), except for a while after a failed
            // read: starts do not each wait out the timeout while the control plane is away.
            if (_namesFailedAt != long.MinValue && _time.GetElapsedTime(_namesFailedAt) < RetryAfterFailure) return;
            var identity = AgentIdentity.Load(_options.DataDirectory);
            if (identity is null) return;
            List<string> names;
            // Waiting at most 2 s: an instance's start never waits long on a control plane that is away.
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(NamesTimeout);
                names = await _controlPlane.ServiceNamesAsync(identity, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or ControlPlaneRejectedException or JsonException
                                      or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                _namesFailedAt = _time.GetTimestamp();
                LogNamesUnavailable(_logger, e.Message);
                return;
            }
            _namesFailedAt = long.MinValue;
            var saved = LoadPorts();
            foreach (var name in names.Where(ServiceCallProtocol.IsServiceName))
                if (!_listeners.ContainsKey(name)) Listen(name, saved.GetValueOrDefault(name));
            SavePorts();
        }
        finally
        {
            _refresh.Release();
        }
    }

    /// <summary>Opens the port of <paramref name="service"/> (the saved one when free, else any) and starts accepting.</summary>
    internal int Listen(string service, int port = 0)
    {
        var socket = new Socket(_address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            try { socket.Bind(new IPEndPoint(_address, port)); }
            catch (SocketException) when (port != 0) { socket.Bind(new IPEndPoint(_address, 0)); }
            socket.Listen(128);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            LogListenFailed(_logger, service, e.Message);
            return 0;
        }
        if (!_listeners.TryAdd(service, socket))
        {
            socket.Dispose();
            return ((IPEndPoint)_listeners[service].LocalEndPoint!).Port;
        }
        var bound = ((IPEndPoint)socket.LocalEndPoint!).Port;
        LogListening(_logger, service, Host(_address), bound);
        _ = Task.Run(() => AcceptLoopAsync(service, socket));
        return bound;
    }

    private async Task AcceptLoopAsync(string service, Socket listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                if (_stopping.IsCancellationRequested) return;
                // One failed accept (the client reset early) must not end the port; a lasting failure (out of file
                // descriptors) must not spin either.
                try { await Task.Delay(TimeSpan.FromMilliseconds(50), _time, _stopping.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
                continue;
            }
            if (Interlocked.Increment(ref _open) > _options.MaxServiceCallConnections)
            {
                Interlocked.Decrement(ref _open);
                LogTooMany(_logger, service, _options.MaxServiceCallConnections);
                client.Dispose();
                continue;
            }
            _ = Task.Run(async () =>
            {
                try { await CallAsync(service, client).ConfigureAwait(false); }
                finally { Interlocked.Decrement(ref _open); }
            });
        }
    }

    /// <summary>Carries one connection of an instance to the service; never throws.</summary>
    internal async Task CallAsync(string service, Socket client)
    {
        client.NoDelay = true;
        await using var local = new NetworkStream(client, ownsSocket: true);
        try
        {
            if (OpenToGateway is not { } open)
            {
                await RefuseAsync(local, service, "notunnel", 503, "this node has no tunnel to a gateway yet; retry shortly").ConfigureAwait(false);
                return;
            }
            Stream remote;
            try
            {
                remote = await open(ServiceCallProtocol.TunnelPort, _stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is Routing.Tunnel.TunnelRefusedException or IOException)
            {
                await RefuseAsync(local, service, "notunnel", 503, $"no gateway can be reached from this node now ({e.Message}); retry shortly").ConfigureAwait(false);
                return;
            }
            await using (remote.ConfigureAwait(false))
            {
                ServiceCallStatus status;
                string message;
                using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token))
                {
                    timeout.CancelAfter(AnswerTimeout);
                    await ServiceCallProtocol.WriteRequestAsync(remote, service, timeout.Token).ConfigureAwait(false);
                    (status, message) = await ServiceCallProtocol.ReadAnswerAsync(remote, timeout.Token).ConfigureAwait(false);
                }
                if (status != ServiceCallStatus.Connected)
                {
                    var code = status switch
                    {
                        ServiceCallStatus.UnknownService => 404,
                        ServiceCallStatus.NoInstance => 503,
                        ServiceCallStatus.BadRequest => 400,
                        _ => 502,
                    };
                    await RefuseAsync(local, service, status.ToString().ToLowerInvariant(), code, message).ConfigureAwait(false);
                    return;
                }
                Count(service, "connected");
                await StreamSplice.RunAsync(local, remote, _stopping.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException
                                  or ServiceCallProtocolException or InvalidOperationException)
        {
            // The caller left, the tunnel broke, or the gateway answered nonsense: this connection ends, nothing else.
            LogCallEnded(_logger, service, e.Message);
        }
    }

    private async Task RefuseAsync(Stream local, string service, string result, int status, string message)
    {
        Count(service, result);
        LogRefused(_logger, service, status, message);
        var reason = status switch { 404 => "Not Found", 503 => "Service Unavailable", 400 => "Bad Request", _ => "Bad Gateway" };
        var body = Encoding.UTF8.GetBytes($"{status} {reason}: {message}\n");
        var head = $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {body.Length}\r\nConnection: close\r\n"
                   + (status == 503 ? "Retry-After: 1\r\n" : "") + "X-VirtualCluster-Agent: 1\r\n\r\n";
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await local.WriteAsync(Encoding.ASCII.GetBytes(head), timeout.Token).ConfigureAwait(false);
        await local.WriteAsync(body, timeout.Token).ConfigureAwait(false);
    }

    private void Count(string service, string result) =>
        _calls.Add(1, new KeyValuePair<string, object?>("service", service), new KeyValuePair<string, object?>("result", result));

    private string PortsFile => Path.Combine(_options.DataDirectory, "service-calls.json");

    private Dictionary<string, int> LoadPorts()
    {
        try
        {
            return File.Exists(PortsFile) ? JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(PortsFile)) ?? [] : [];
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private void SavePorts()
    {
        try
        {
            var ports = _listeners.ToDictionary(l => l.Key, l => ((IPEndPoint)l.Value.LocalEndPoint!).Port);
            var temp = PortsFile + ".tmp";
            File.WriteAllText(temp, JsonSerializer.Serialize(ports));
            File.Move(temp, PortsFile, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogSaveFailed(_logger, e.Message);
        }
    }

    private static string Host(IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    public ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        foreach (var listener in _listeners.Values) listener.Dispose();
        _listeners.Clear();
        _meter.Dispose();
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(5361, LogLevel.Information, "Service calls: \"{Service}\" is at http://{Address}:{Port} for this node's instances")]
    private static partial void LogListening(ILogger logger, string service, string address, int port);

    [LoggerMessage(5362, LogLevel.Warning, "Service calls: cannot open a port for \"{Service}\" ({Reason}); its instances get no VC_SERVICE_ variable for it")]
    private static partial void LogListenFailed(ILogger logger, string service, string reason);

    [LoggerMessage(5363, LogLevel.Warning, "Service calls: cannot read the service names from the control plane ({Reason}); instances get the addresses known so far")]
    private static partial void LogNamesUnavailable(ILogger logger, string reason);

    [LoggerMessage(5364, LogLevel.Warning, "Service calls: {Max} connections are open already; a new one to \"{Service}\" was closed")]
    private static partial void LogTooMany(ILogger logger, string service, int max);

    [LoggerMessage(5365, LogLevel.Information, "Service call to \"{Service}\" answered {Status}: {Message}")]
    private static partial void LogRefused(ILogger logger, string service, int status, string message);

    [LoggerMessage(5366, LogLevel.Debug, "Service call to \"{Service}\" ended: {Reason}")]
    private static partial void LogCallEnded(ILogger logger, string service, string reason);

    [LoggerMessage(5367, LogLevel.Warning, "Service calls: cannot save the ports to service-calls.json ({Reason}); after a restart they may change")]
    private static partial void LogSaveFailed(ILogger logger, string reason);
}
