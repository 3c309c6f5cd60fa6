using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.Signaling;
using VirtualCluster.Routing.BrowserDirect;
using VirtualCluster.Routing.Signaling;

namespace VirtualCluster.Gateway.BrowserDirect;

/// <summary>
/// One browser's signaling for the browser-direct path, over a WebSocket on the service's own origin (so the access
/// cookie of an "access": "token" service was checked before this runs). The gateway picks an instance whose node is on
/// its signaling hub, joins the hub as <see cref="BrowserPeerName"/> for this browser and this service, and relays the
/// browser's offer and candidates to that node and the node's answer and candidates back. Nothing else passes: the
/// agent lets this peer's channels reach only that service's ports.
/// </summary>
/// <remarks>
/// Wire format (JSON text frames). To the browser: <c>{"type":"hello","port":p,"iceServers":[...]}</c>, then
/// <c>answer</c> (<c>sdp</c>), <c>candidate</c> (<c>candidate</c>), <c>end-of-candidates</c>, and
/// <c>{"type":"error","code":"...","message":"..."}</c>. From the browser: one <c>offer</c> (<c>sdp</c>), then
/// <c>candidate</c> and <c>end-of-candidates</c>. Frames over <see cref="BrowserDirectOptions.MaxFrameBytes"/>, binary frames, unknown types,
/// a second offer and more than <see cref="BrowserDirectOptions.MessagesPerSecond"/> messages a second (burst
/// <see cref="BrowserDirectOptions.Burst"/>) get an error frame; <see cref="BrowserDirectOptions.MaxStrikes"/> of them in a
/// row close the socket with 1008.
/// </remarks>
internal sealed partial class BrowserSignalingSession(SignalingHub hub, string gatewayName, IEnumerable<IceServer> iceServers, BrowserDirectOptions limits,
    ILogger logger, TimeProvider time)
{
    private int MaxFrameBytes => limits.MaxFrameBytes;
    private int MessagesPerSecond => limits.MessagesPerSecond;
    private int Burst => limits.Burst;
    private int MaxStrikes => limits.MaxStrikes;
    private TimeSpan SessionLifetime => limits.SessionLifetime;

    /// <summary>Serves the WebSocket of <paramref name="context"/> for <paramref name="endpoint"/> until either side ends.</summary>
    public async Task RunAsync(HttpContext context, ServiceRoute route, ServiceEndpoint endpoint)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var id = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
        var peerName = BrowserPeerName.For(gatewayName, route.Name, id);
        await using var participant = hub.AttachLocal(new SignalingIdentity(TunnelSignalingAuthenticator.Cluster, peerName));
        // Signaling is done in seconds; a tab that stays open keeps its data channels, not this socket.
        using var expiry = new CancellationTokenSource(SessionLifetime, time);
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, expiry.Token);
        var send = new SemaphoreSlim(1, 1);
        LogStarted(logger, route.Name, endpoint.InstanceId, endpoint.NodeId, context.Connection.RemoteIpAddress?.ToString() ?? "?");
        try
        {
            await SendAsync(socket, send, new JsonObject
            {
                ["type"] = "hello",
                ["port"] = endpoint.Port,
                ["instance"] = endpoint.InstanceId,
                ["iceServers"] = BrowserIceServers(iceServers),
            }, lifetime.Token).ConfigureAwait(false);
            var fromNode = RelayFromNodeAsync(participant, endpoint.NodeId, socket, send, lifetime.Token);
            await RelayFromBrowserAsync(participant, endpoint.NodeId, id, socket, send, route.Name, lifetime.Token).ConfigureAwait(false);
            await lifetime.CancelAsync().ConfigureAwait(false);
            await fromNode.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // The browser left, or the session's time ran out.
        }
        finally
        {
            if (socket.State == WebSocketState.Open)
            {
                using var close = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try { await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", close.Token).ConfigureAwait(false); }
                catch (Exception e) when (e is OperationCanceledException or WebSocketException) { }
            }
        }
    }

    /// <summary>
    /// STUN only: the browser learns its public mapping, and the node (which has the cluster's TURN credentials) adds
    /// relayed candidates of its own. A TURN server answers STUN too, so each TURN server is also offered as STUN.
    /// TURN credentials never reach a browser.
    /// </summary>
    internal static JsonArray BrowserIceServers(IEnumerable<IceServer> servers)
    {
        var urls = new JsonArray();
        foreach (var url in servers.Select(s => $"stun:{(s.Host.Contains(':', StringComparison.Ordinal) ? $"[{s.Host}]" : s.Host)}:{s.Port}").Distinct(StringComparer.Ordinal))
            urls.Add(url);
        return urls.Count == 0 ? [] : [new JsonObject { ["urls"] = urls }];
    }

    private async Task RelayFromBrowserAsync(LocalSignalingParticipant participant, string node, string session, WebSocket socket, SemaphoreSlim send,
        string service, CancellationToken ct)
    {
        using var limiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = Burst, TokensPerPeriod = MessagesPerSecond, ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 0, AutoReplenishment = true,
        });
        var buffer = ArrayPool<byte>.Shared.Rent(MaxFrameBytes);
        var strikes = 0;
        var offered = false;
        try
        {
            while (true)
            {
                var (length, kind) = await ReadFrameAsync(socket, buffer, ct).ConfigureAwait(false);
                if (kind == WebSocketMessageType.Close) return;
                string? error;
                SignalingMessage? message = null;
                using (var lease = limiter.AttemptAcquire())
                {
                    error = !lease.IsAcquired ? $"rate-limited: more than {MessagesPerSecond} messages a second (burst {Burst}); slow down"
                        : length < 0 ? $"too-large: a signaling frame is at most {MaxFrameBytes} bytes"
                        : kind == WebSocketMessageType.Binary ? "malformed: binary frames are not signaling; send JSON text frames"
                        : Translate(buffer.AsSpan(0, length), session, ref offered, out message);
                }
                if (error is null && message is not null) error = await DeliverAsync(participant, node, message, ct).ConfigureAwait(false);
                if (error is null)
                {
                    strikes = 0;
                    continue;
                }
                var colon = error.IndexOf(':', StringComparison.Ordinal);
                LogRefused(logger, service, error);
                await SendAsync(socket, send, new JsonObject { ["type"] = "error", ["code"] = error[..colon], ["message"] = error[(colon + 2)..] }, ct).ConfigureAwait(false);
                if (error.StartsWith("unknown-peer", StringComparison.Ordinal)) continue; // the node left: not the browser's fault
                if (++strikes >= MaxStrikes)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.PolicyViolation, $"{strikes} bad frames in a row", ct).ConfigureAwait(false);
                    return;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The hub message for a browser frame, or the error ("code: detail").</summary>
    internal static string? Translate(ReadOnlySpan<byte> utf8, string session, ref bool offered, out SignalingMessage? message)
    {
        message = null;
        JsonObject? frame;
        try
        {
            frame = JsonNode.Parse(utf8, documentOptions: new JsonDocumentOptions { MaxDepth = 4 }) as JsonObject;
        }
        catch (JsonException e)
        {
            return $"malformed: not JSON ({e.Message})";
        }
        if (frame is null) return "malformed: a frame must be a JSON object like {\"type\":\"offer\",\"sdp\":\"...\"}";
        var type = frame["type"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : null;
        string? Text(string field) => frame[field] is JsonValue v && v.TryGetValue<string>(out var text) ? text : null;
        switch (type)
        {
            case "offer":
                if (offered) return "malformed: one offer per signaling socket; open a new socket to start over";
                var sdp = Text("sdp");
                if (string.IsNullOrEmpty(sdp) || !sdp.StartsWith("v=0", StringComparison.Ordinal))
                    return "malformed: an offer needs \"sdp\", a session description starting with v=0";
                if (!sdp.Contains("m=application", StringComparison.Ordinal)) return "malformed: the offer has no data channel (m=application) section";
                string ufrag = "", pwd = "";
                foreach (var raw in sdp.Split('\n'))
                {
                    var line = raw.TrimEnd('\r');
                    if (line.StartsWith("a=ice-ufrag:", StringComparison.Ordinal)) ufrag = line[12..];
                    else if (line.StartsWith("a=ice-pwd:", StringComparison.Ordinal)) pwd = line[10..];
                }
                if (ufrag.Length == 0 || pwd.Length == 0) return "malformed: the offer has no a=ice-ufrag/a=ice-pwd";
                offered = true;
                message = new OfferMessage(ufrag, pwd) { Sdp = sdp, Session = session };
                return null;
            case "candidate":
                if (!offered) return "malformed: a candidate before the offer";
                var candidate = Text("candidate");
                if (candidate is null or { Length: 0 }) return "malformed: a candidate needs \"candidate\" (empty means end of candidates: send end-of-candidates)";
                if (!candidate.StartsWith("candidate:", StringComparison.Ordinal) || candidate.Length > 512) return "malformed: \"candidate\" must be an ICE candidate line (candidate:...)";
                message = new CandidateMessage(candidate) { Session = session };
                return null;
            case "end-of-candidates":
                if (!offered) return "malformed: end-of-candidates before the offer";
                message = new EndOfCandidatesMessage { Session = session };
                return null;
            default:
                return $"malformed: unknown type \"{(type is null ? "(none)" : type.Length > 20 ? type[..20] + "..." : type)}\"; send offer, candidate or end-of-candidates";
        }
    }

    private static async Task<string?> DeliverAsync(LocalSignalingParticipant participant, string node, SignalingMessage message, CancellationToken ct)
    {
        if (message.ToJson().Length > 4000) return "too-large: the offer is too large to relay; leave the candidates out of the SDP and trickle them";
        try
        {
            await participant.SendAsync(node, message, ct).ConfigureAwait(false);
            return null;
        }
        catch (SignalingDeliveryException e)
        {
            return $"{e.Code}: the node running the instance cannot be reached for signaling now ({e.Message}); use the gateway";
        }
    }

    private static async Task RelayFromNodeAsync(LocalSignalingParticipant participant, string node, WebSocket socket, SemaphoreSlim send, CancellationToken ct)
    {
        var channel = participant.ChannelTo(node);
        try
        {
            while (await channel.ReceiveAsync(ct).ConfigureAwait(false) is { } message)
            {
                JsonObject? frame = message switch
                {
                    AnswerMessage { Sdp: { Length: > 0 } sdp } => new JsonObject { ["type"] = "answer", ["sdp"] = sdp },
                    CandidateMessage c => new JsonObject { ["type"] = "candidate", ["candidate"] = c.Candidate },
                    EndOfCandidatesMessage => new JsonObject { ["type"] = "end-of-candidates" },
                    _ => null,
                };
                if (frame is not null) await SendAsync(socket, send, frame, ct).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
    }

    private static async Task SendAsync(WebSocket socket, SemaphoreSlim send, JsonObject frame, CancellationToken ct)
    {
        var bytes = Encoding.UTF8.GetBytes(frame.ToJsonString());
        await send.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await socket.SendAsync(bytes, WebSocketMessageType.Text, true, ct).ConfigureAwait(false);
        }
        finally
        {
            send.Release();
        }
    }

    /// <summary>One whole frame into <paramref name="buffer"/>; length -1 when it was larger than <see cref="BrowserDirectOptions.MaxFrameBytes"/> (its bytes are discarded).</summary>
    private async Task<(int Length, WebSocketMessageType Kind)> ReadFrameAsync(WebSocket socket, byte[] buffer, CancellationToken ct)
    {
        var length = 0;
        var tooLarge = false;
        while (true)
        {
            var space = tooLarge || length >= MaxFrameBytes ? buffer.AsMemory(0, Math.Min(buffer.Length, 1024)) : buffer.AsMemory(length, MaxFrameBytes - length);
            var result = await socket.ReceiveAsync(space, ct).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close) return (0, WebSocketMessageType.Close);
            if (tooLarge || length >= MaxFrameBytes) tooLarge |= result.Count > 0 || !result.EndOfMessage;
            else length += result.Count;
            if (result.EndOfMessage) return (tooLarge ? -1 : length, result.MessageType);
        }
    }

    [LoggerMessage(6301, LogLevel.Information, "Browser direct: signaling for {Service} to instance {Instance} on {Node} from {Client}")]
    private static partial void LogStarted(ILogger logger, string service, string instance, string node, string client);

    [LoggerMessage(6302, LogLevel.Debug, "Browser direct: a signaling frame for {Service} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string service, string reason);
}
