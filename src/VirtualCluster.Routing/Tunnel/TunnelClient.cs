using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using Microsoft.Extensions.Logging;

namespace VirtualCluster.Routing.Tunnel;

/// <summary>What an agent's tunnel client needs.</summary>
/// <param name="Gateways">Gateway base URLs (http://, https://, ws:// or wss://); each gets its own tunnel.</param>
/// <param name="Token">Returns the machine token, or null while the agent has not joined yet.</param>
/// <param name="IsInstancePort">True when the port belongs to an instance this agent runs now; nothing else is ever connected.</param>
/// <param name="ConfigureSocket">
/// Called before each connection attempt with the tunnel's URL, to set TLS on the WebSocket (the certificate check, a
/// client certificate); null: the system's trust store, no client certificate.
/// </param>
public sealed record TunnelClientSettings(IReadOnlyList<Uri> Gateways, Func<string?> Token, Func<int, bool> IsInstancePort,
    Func<Uri, ClientWebSocketOptions, CancellationToken, ValueTask>? ConfigureSocket = null);

/// <summary>
/// The agent's end: dials out to each gateway over a WebSocket (so no inbound port is needed), keeps the tunnel up
/// with backoff between attempts, and connects each stream the gateway opens to 127.0.0.1:port when that port is an
/// instance's.
/// </summary>
public sealed partial class TunnelClient(TunnelClientSettings settings, TunnelOptions options, ILogger<TunnelClient> logger, TimeProvider time)
{
    /// <summary>Path of the tunnel endpoint on a gateway.</summary>
    public const string Path = "/v1/tunnel";

    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);
    private int _connected;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<TunnelMux, Uri> _up = new();

    /// <summary>Gateways with a tunnel up now.</summary>
    public int Connected => Volatile.Read(ref _connected);

    /// <summary>
    /// Opens a stream to <paramref name="port"/> of a gateway (a service call: <see cref="ServiceCalls.ServiceCallProtocol.TunnelPort"/>)
    /// over any tunnel that is up, trying the next when one fails.
    /// </summary>
    /// <exception cref="TunnelRefusedException">No tunnel is up, or every gateway refused.</exception>
    public async Task<Stream> OpenAsync(int port, CancellationToken cancellationToken = default)
    {
        var tunnels = _up.Keys.Where(m => !m.IsClosed).OrderBy(_ => Random.Shared.Next()).ToList();
        if (tunnels.Count == 0) throw new TunnelRefusedException("this node has no tunnel to a gateway up now");
        Exception? last = null;
        foreach (var mux in tunnels)
        {
            try
            {
                return await mux.OpenAsync(port, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TunnelRefusedException or IOException)
            {
                last = e;
            }
        }
        throw new TunnelRefusedException(last?.Message ?? "no gateway took the stream");
    }

    /// <summary>Keeps one tunnel per gateway until <paramref name="cancellationToken"/> fires.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(settings.Gateways.Select(g => Task.Run(() => KeepUpAsync(TunnelUri(g), cancellationToken), CancellationToken.None)));

    /// <summary>
    /// wss://host:port/v1/tunnel for a gateway base URL: http://, https:// and wss:// all mean TLS (a gateway serves its
    /// agent endpoints over TLS on its plain-http port too); only an explicit ws:// gives a plain WebSocket.
    /// </summary>
    public static Uri TunnelUri(Uri gateway)
    {
        var scheme = gateway.Scheme == "ws" ? "ws" : "wss";
        return new UriBuilder(gateway) { Scheme = scheme, Path = Path, Query = "" }.Uri;
    }

    private async Task KeepUpAsync(Uri uri, CancellationToken ct)
    {
        var backoff = MinBackoff;
        while (!ct.IsCancellationRequested)
        {
            var token = settings.Token();
            var started = time.GetTimestamp();
            if (token is not null)
            {
                try
                {
                    await RunOnceAsync(uri, token, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is WebSocketException or HttpRequestException or IOException or OperationCanceledException)
                {
                    if (ct.IsCancellationRequested) return;
                    LogFailed(logger, uri, e.Message);
                }
            }
            // A tunnel that stayed up a while starts the backoff again from the bottom.
            if (time.GetElapsedTime(started) > TimeSpan.FromSeconds(30)) backoff = MinBackoff;
            var jitter = TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * backoff.TotalMilliseconds / 2);
            try { await Task.Delay(backoff + jitter, time, ct).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    private async Task RunOnceAsync(Uri uri, string token, CancellationToken ct)
    {
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        // Our own pings detect a dead tunnel; the WebSocket's keep NAT mappings warm even when the tunnel is idle.
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(15);
        if (settings.ConfigureSocket is { } configure) await configure(uri, socket.Options, ct).ConfigureAwait(false);
        using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            connectTimeout.CancelAfter(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(uri, connectTimeout.Token).ConfigureAwait(false);
        }
        var transport = WebSocketStream.Create(socket, WebSocketMessageType.Binary, ownsWebSocket: false);
        var mux = new TunnelMux(transport, isDialer: true, options, ConnectLocalAsync, logger, time);
        Interlocked.Increment(ref _connected);
        _up[mux] = uri;
        LogUp(logger, uri);
        try
        {
            await mux.RunAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _connected);
            _up.TryRemove(mux, out _);
            await mux.DisposeAsync().ConfigureAwait(false);
            LogDown(logger, uri);
        }
    }

    private ValueTask<Stream> ConnectLocalAsync(int port, CancellationToken ct) => ConnectLocalAsync(settings.IsInstancePort, port, ct);

    /// <summary>
    /// The agent's rule for a stream the gateway opens: only a port of an instance of this node, and only when something
    /// listens there; otherwise a refusal that says which (the gateway shows it and may try another instance).
    /// </summary>
    internal static async ValueTask<Stream> ConnectLocalAsync(Func<int, bool> isInstancePort, int port, CancellationToken ct)
    {
        if (!isInstancePort(port)) throw new TunnelRefusedException($"port {port} is not a port of an instance running on this node");
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch (Exception e) when (e is SocketException || e is OperationCanceledException && !ct.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TunnelRefusedException($"nothing answers on 127.0.0.1:{port} ({(e is SocketException s ? s.SocketErrorCode.ToString() : "timed out")}); the instance may be starting or stopping");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    [LoggerMessage(5201, LogLevel.Information, "Tunnel to {Gateway} is up")]
    private static partial void LogUp(ILogger logger, Uri gateway);

    [LoggerMessage(5202, LogLevel.Information, "Tunnel to {Gateway} is down; reconnecting")]
    private static partial void LogDown(ILogger logger, Uri gateway);

    [LoggerMessage(5203, LogLevel.Warning, "Cannot open a tunnel to {Gateway}: {Reason}")]
    private static partial void LogFailed(ILogger logger, Uri gateway, string reason);
}
