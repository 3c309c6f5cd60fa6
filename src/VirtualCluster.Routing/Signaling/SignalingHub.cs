using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace VirtualCluster.Routing.Signaling;

/// <summary>
/// Relays ICE signaling (offers, answers, candidates: <see cref="P2P.Signaling.SignalingMessage"/>) between named peers
/// of one cluster over WebSockets. A peer is who its token says (<see cref="ISignalingAuthenticator"/>), never what a
/// frame claims; frames only reach peers of the sender's cluster. A peer that reconnects replaces its old connection.
/// </summary>
/// <remarks>
/// Hostile input costs bounded memory and never ends the hub: a frame larger than
/// <see cref="SignalingHubOptions.MaxMessageBytes"/> is discarded as it arrives, each peer has a token bucket
/// (<see cref="SignalingHubOptions.MessagesPerSecond"/>, <see cref="SignalingHubOptions.Burst"/>) and a bounded send
/// queue, and bad frames get an error frame back; <see cref="SignalingHubOptions.MaxStrikes"/> bad frames in a row
/// close the connection with 1008 (policy violation).
/// </remarks>
public sealed partial class SignalingHub
{
    /// <summary>Meter of the hub's counters.</summary>
    public const string MeterName = "VirtualCluster.Routing.Signaling";

    private readonly ConcurrentDictionary<(string Cluster, string Peer), SignalingPeer> peers = new();
    private readonly ISignalingAuthenticator authenticator;
    private readonly SignalingHubOptions options;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly Counter<long> relayed;
    private readonly Counter<long> refused;

    /// <summary>Creates a hub.</summary>
    public SignalingHub(ISignalingAuthenticator authenticator, IOptions<SignalingHubOptions> options, TimeProvider? time = null,
        ILogger<SignalingHub>? logger = null, IMeterFactory? meters = null)
    {
        ArgumentNullException.ThrowIfNull(authenticator);
        ArgumentNullException.ThrowIfNull(options);
        this.authenticator = authenticator;
        this.options = options.Value;
        this.time = time ?? TimeProvider.System;
        this.logger = logger ?? NullLogger<SignalingHub>.Instance;
        var meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        relayed = meter.CreateCounter<long>("vc.signaling.relayed", description: "Signaling messages relayed");
        refused = meter.CreateCounter<long>("vc.signaling.refused", description: "Signaling frames refused, by code");
        meter.CreateObservableGauge("vc.signaling.peers", () => peers.Count, description: "Connected signaling peers");
    }

    /// <summary>Peers connected now, over all clusters.</summary>
    public int ConnectedPeers => peers.Count;

    /// <summary>True when <paramref name="peer"/> of <paramref name="cluster"/> is connected.</summary>
    public bool IsConnected(string cluster, string peer) => peers.ContainsKey((cluster, peer));

    /// <summary>Frames queued for a peer (0 when not connected); bounded by <see cref="SignalingHubOptions.SendQueueLength"/>.</summary>
    public int QueuedFor(string cluster, string peer) => peers.TryGetValue((cluster, peer), out var p) ? p.Queued : 0;

    /// <summary>Names a gateway's in-process participant starts with (<c>gateway:&lt;name&gt;</c>); no WebSocket peer may use them.</summary>
    public const string LocalPeerPrefix = "gateway:";

    /// <summary>
    /// The peers of <paramref name="cluster"/> connected now (over WebSockets or in-process), each with the id of its
    /// connection, which changes when the peer reconnects.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, long>> PeersIn(string cluster) =>
        peers.Where(p => p.Key.Cluster == cluster).Select(p => KeyValuePair.Create(p.Key.Peer, p.Value.Connection)).ToList();

    /// <summary>
    /// Joins the hub as an in-process peer (a gateway that takes part in signaling itself). Its name must start with
    /// <see cref="LocalPeerPrefix"/>. Dispose the participant to leave.
    /// </summary>
    public LocalSignalingParticipant AttachLocal(SignalingIdentity identity, int peerQueueLength = 256)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (!identity.Peer.StartsWith(LocalPeerPrefix, StringComparison.Ordinal))
            throw new ArgumentException($"an in-process participant's name must start with \"{LocalPeerPrefix}\", e.g. gateway:edge-1", nameof(identity));
        var peer = new SignalingPeer(identity, null, options.SendQueueLength, CancellationToken.None);
        Register(peer);
        return new LocalSignalingParticipant(this, peer, peerQueueLength);
    }

    internal void Detach(SignalingPeer peer)
    {
        if (peers.TryRemove(KeyValuePair.Create((peer.Identity.Cluster, peer.Identity.Peer), peer))) Log.Disconnected(logger, peer.Identity.Cluster, peer.Identity.Peer);
        peer.RequestClose(WebSocketCloseStatus.NormalClosure, "bye");
    }

    /// <summary>Serves one HTTP request: authenticates it, upgrades it to a WebSocket and relays its frames until it closes.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await RejectAsync(context, 400, "signaling needs a WebSocket upgrade (GET with Upgrade: websocket)");
            return;
        }
        var header = context.Request.Headers.Authorization.ToString();
        var token = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
        var authentication = await authenticator.AuthenticateAsync(token, context.RequestAborted);
        if (authentication.Identity is not { } identity)
        {
            await RejectAsync(context, 401, authentication.Error ?? "invalid token");
            return;
        }
        if (identity.Peer.StartsWith(LocalPeerPrefix, StringComparison.Ordinal))
        {
            await RejectAsync(context, 403, $"peer names starting with \"{LocalPeerPrefix}\" belong to gateways' in-process participants; connect with an agent's machine token");
            return;
        }
        if (peers.Count >= options.MaxPeers && !peers.ContainsKey((identity.Cluster, identity.Peer)))
        {
            await RejectAsync(context, 503, $"the signaling hub serves at most {options.MaxPeers} peers; try another gateway or later");
            return;
        }

        var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = options.KeepAliveInterval });
        using var peer = new SignalingPeer(identity, socket, options.SendQueueLength, context.RequestAborted);
        Register(peer);
        peer.TryEnqueue(new SignalingFrame { Kind = "welcome", Cluster = identity.Cluster, Peer = identity.Peer }.ToJson());
        var writer = peer.RunWriterAsync();
        try
        {
            await ReceiveLoopAsync(peer);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // Aborted, replaced, or the client vanished.
        }
        finally
        {
            peers.TryRemove(KeyValuePair.Create((identity.Cluster, identity.Peer), peer));
            peer.RequestClose(WebSocketCloseStatus.NormalClosure, "bye");
            await writer;
            Log.Disconnected(logger, identity.Cluster, identity.Peer);
        }
    }

    /// <summary>
    /// Closes the connection of <paramref name="peer"/> in <paramref name="cluster"/> (policy violation, with
    /// <paramref name="reason"/>) if it was made before <paramref name="connectedBefore"/>: a peer whose credential was
    /// revoked (a removed node) keeps no open channel. A connection made later belongs to a newer credential and stays.
    /// True if one was closed.
    /// </summary>
    public bool Disconnect(string cluster, string peer, DateTimeOffset connectedBefore, string reason)
    {
        if (!peers.TryGetValue((cluster, peer), out var connected) || connected.ConnectedAt >= connectedBefore) return false;
        if (!peers.TryRemove(KeyValuePair.Create((cluster, peer), connected))) return false;
        connected.RequestClose(WebSocketCloseStatus.PolicyViolation, reason);
        return true;
    }

    private void Register(SignalingPeer peer)
    {
        peer.ConnectedAt = time.GetUtcNow();
        var key = (peer.Identity.Cluster, peer.Identity.Peer);
        SignalingPeer? old = null;
        peers.AddOrUpdate(key, peer, (_, existing) =>
        {
            old = existing;
            return peer;
        });
        if (old is null)
        {
            Log.Connected(logger, key.Cluster, key.Peer);
            return;
        }
        // The newest connection wins: an agent that lost its network reconnects before the hub notices the old one died.
        old.RequestClose(WebSocketCloseStatus.NormalClosure, "replaced by a newer connection of the same peer");
        Log.Replaced(logger, key.Cluster, key.Peer);
    }

    private async Task ReceiveLoopAsync(SignalingPeer peer)
    {
        var bucket = new TokenBucket(options.MessagesPerSecond, options.Burst, time);
        var buffer = ArrayPool<byte>.Shared.Rent(options.MaxMessageBytes);
        var strikes = 0;
        try
        {
            while (true)
            {
                var (length, kind) = await ReadFrameAsync(peer, buffer);
                if (kind == WebSocketMessageType.Close) return;
                var (code, detail, to) = length < 0
                    ? (SignalingErrorCodes.TooLarge, $"frame is larger than {options.MaxMessageBytes} bytes; signaling messages are small", null)
                    : kind == WebSocketMessageType.Binary
                        ? (SignalingErrorCodes.Malformed, "binary frames are not signaling; send JSON text frames", null)
                        : Handle(peer, bucket, buffer.AsMemory(0, length));
                if (code is null)
                {
                    strikes = 0;
                    continue;
                }
                refused.Add(1, new KeyValuePair<string, object?>("code", code));
                Log.Refused(logger, peer.Identity.Cluster, peer.Identity.Peer, code, detail!);
                peer.TryEnqueue(SignalingFrame.Error(code, detail!, to));
                // Delivery problems (offline or busy peer) are not the sender's fault; everything else is.
                if (code is SignalingErrorCodes.UnknownPeer or SignalingErrorCodes.PeerBusy) continue;
                if (++strikes >= options.MaxStrikes)
                {
                    Log.Expelled(logger, peer.Identity.Cluster, peer.Identity.Peer, strikes);
                    peer.RequestClose(WebSocketCloseStatus.PolicyViolation, $"{strikes} bad frames in a row");
                    // Keep reading until the client answers the close or the grace period cancels the connection.
                    while ((await ReadFrameAsync(peer, buffer)).Kind != WebSocketMessageType.Close) { }
                    return;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads one whole frame into <paramref name="buffer"/>; length -1 when it was too large (its bytes are discarded).</summary>
    private async Task<(int Length, WebSocketMessageType Kind)> ReadFrameAsync(SignalingPeer peer, byte[] buffer)
    {
        var length = 0;
        var tooLarge = false;
        while (true)
        {
            var space = tooLarge || length >= options.MaxMessageBytes ? buffer.AsMemory(0, Math.Min(buffer.Length, 4096)) : buffer.AsMemory(length, options.MaxMessageBytes - length);
            var result = await peer.Socket.ReceiveAsync(space, peer.Lifetime);
            if (result.MessageType == WebSocketMessageType.Close) return (0, WebSocketMessageType.Close);
            if (tooLarge || length >= options.MaxMessageBytes)
            {
                // Only a frame that goes past the limit is too large; one that fills it exactly is fine.
                tooLarge |= result.Count > 0 || !result.EndOfMessage;
            }
            else
            {
                length += result.Count;
            }
            if (result.EndOfMessage) return (tooLarge ? -1 : length, result.MessageType);
        }
    }

    private (string? Code, string? Detail, string? To) Handle(SignalingPeer sender, TokenBucket bucket, ReadOnlyMemory<byte> utf8)
    {
        if (!bucket.TryTake())
            return (SignalingErrorCodes.RateLimited, $"more than {options.MessagesPerSecond:0.##} messages per second (burst {options.Burst}); slow down", null);
        if (!ClientFrame.TryParse(utf8, out var frame, out var error))
            return (SignalingErrorCodes.Malformed, error, null);
        var cluster = sender.Identity.Cluster;
        if (frame.Cluster is not null && frame.Cluster != cluster)
            return (SignalingErrorCodes.WrongCluster, $"this connection belongs to cluster \"{cluster}\"; it cannot address another cluster", frame.To);
        return Deliver(sender, frame.To, frame.Message);
    }

    /// <summary>Relays <paramref name="message"/> from <paramref name="sender"/> to <paramref name="to"/> of the same cluster; an error code and detail when it cannot.</summary>
    internal (string? Code, string? Detail, string? To) Deliver(SignalingPeer sender, string to, P2P.Signaling.SignalingMessage message)
    {
        if (!peers.TryGetValue((sender.Identity.Cluster, to), out var target) || target == sender)
            return (SignalingErrorCodes.UnknownPeer, $"no peer \"{to}\" is connected in this cluster", to);
        if (!target.TryEnqueue(SignalingFrame.Relay(sender.Identity.Peer, message)))
            return (SignalingErrorCodes.PeerBusy, $"peer \"{to}\" is not reading its messages; try again later", to);
        relayed.Add(1);
        return (null, null, null);
    }

    private async Task RejectAsync(HttpContext context, int status, string reason)
    {
        Log.Rejected(logger, status, reason);
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        if (status == 401) context.Response.Headers.WWWAuthenticate = "Bearer";
        await context.Response.WriteAsync(reason + "\n", context.RequestAborted);
    }
}
