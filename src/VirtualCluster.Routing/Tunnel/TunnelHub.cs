using System.Collections.Concurrent;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace VirtualCluster.Routing.Tunnel;

/// <summary>
/// The gateway's end of the agents' tunnels: accepts each agent's WebSocket (authenticated with its machine token),
/// keeps the newest tunnel per node, and opens streams over it. A node whose tunnel drops is unreachable at once,
/// which is how the proxy learns of a killed agent before the control plane does.
/// </summary>
public sealed partial class TunnelHub(ITunnelAuthenticator authenticator, TunnelOptions options, ILogger<TunnelHub> logger, TimeProvider time)
    : IStreamDialer
{
    private readonly ConcurrentDictionary<string, TunnelMux> _tunnels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<TunnelMux, DateTimeOffset> _since = new();

    /// <summary>
    /// Serves streams an agent opens towards the gateway (its service calls), with the agent's authenticated node id
    /// and the port it asked for; null: agents can open no streams. Set once while the app is built, before any
    /// tunnel is accepted (it cannot be a constructor argument: the handler dials nodes through this hub).
    /// </summary>
    public Func<string, int, CancellationToken, ValueTask<Stream>>? AcceptStreams { get; set; }

    /// <summary>Raised (on a pool thread) when a node's tunnel comes up or goes down, with its node id.</summary>
    public event Action<string>? Changed;

    /// <summary>Node ids with a tunnel up now.</summary>
    public IReadOnlyCollection<string> Nodes => _tunnels.Keys.ToList();

    /// <summary>Nodes that had a tunnel at some time; for them a missing tunnel means "unreachable", not "uses direct addresses".</summary>
    public bool EverConnected(string nodeId) => _seen.ContainsKey(nodeId);

    private readonly ConcurrentDictionary<string, bool> _seen = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public bool CanReach(string nodeId) => _tunnels.TryGetValue(nodeId, out var mux) && !mux.Completion.IsCompleted;

    /// <inheritdoc />
    public async ValueTask<Stream> DialAsync(string nodeId, int port, CancellationToken cancellationToken = default)
    {
        if (!_tunnels.TryGetValue(nodeId, out var mux)) throw new TunnelRefusedException($"node {nodeId} has no tunnel to this gateway");
        return await mux.OpenAsync(port, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Serves one agent's tunnel request until the tunnel closes. Answers 400/401 with the reason when it cannot.</summary>
    public async Task AcceptAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await Reject(context, 400, "the tunnel endpoint takes a WebSocket upgrade (agents dial it with --gateway)").ConfigureAwait(false);
            return;
        }
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            await Reject(context, 401, "missing bearer token: an agent opens its tunnel with its machine token").ConfigureAwait(false);
            return;
        }
        var (peer, error) = await authenticator.AuthenticateAsync(header["Bearer ".Length..].Trim(), context.RequestAborted).ConfigureAwait(false);
        if (peer is null)
        {
            await Reject(context, 401, error ?? "the token was refused").ConfigureAwait(false);
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var transport = WebSocketStream.Create(socket, WebSocketMessageType.Binary, ownsWebSocket: false);
        var accept = AcceptStreams;
        var nodeId = peer.NodeId;
        var mux = new TunnelMux(transport, isDialer: false, options, accept is null ? null : (port, ct) => accept(nodeId, port, ct), logger, time);
        if (_tunnels.TryGetValue(peer.NodeId, out var old)) await old.DisposeAsync().ConfigureAwait(false);
        _since[mux] = time.GetUtcNow();
        _tunnels[peer.NodeId] = mux;
        _seen[peer.NodeId] = true;
        LogUp(logger, peer.NodeId, context.Connection.RemoteIpAddress?.ToString() ?? "?");
        Changed?.Invoke(peer.NodeId);
        try
        {
            await mux.RunAsync(context.RequestAborted).ConfigureAwait(false);
        }
        finally
        {
            // Only remove our own entry: a reconnect may already have put a newer tunnel there.
            if (_tunnels.TryRemove(new KeyValuePair<string, TunnelMux>(peer.NodeId, mux))) Changed?.Invoke(peer.NodeId);
            _since.TryRemove(mux, out _);
            LogDown(logger, peer.NodeId);
            await mux.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Closes the tunnel of <paramref name="nodeId"/> if it came up before <paramref name="connectedBefore"/> (a node
    /// the control plane listed as removed at that time; a tunnel opened later belongs to a newer join). True if one closed.
    /// </summary>
    public async ValueTask<bool> DisconnectAsync(string nodeId, DateTimeOffset connectedBefore)
    {
        if (!_tunnels.TryGetValue(nodeId, out var mux) || !_since.TryGetValue(mux, out var since) || since >= connectedBefore) return false;
        if (!_tunnels.TryRemove(new KeyValuePair<string, TunnelMux>(nodeId, mux))) return false;
        _since.TryRemove(mux, out _);
        await mux.DisposeAsync().ConfigureAwait(false);
        Changed?.Invoke(nodeId);
        return true;
    }

    private static Task Reject(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new { error = message });
    }

    [LoggerMessage(5101, LogLevel.Information, "Tunnel of node {NodeId} is up (from {Remote})")]
    private static partial void LogUp(ILogger logger, string nodeId, string remote);

    [LoggerMessage(5102, LogLevel.Information, "Tunnel of node {NodeId} is down")]
    private static partial void LogDown(ILogger logger, string nodeId);
}
