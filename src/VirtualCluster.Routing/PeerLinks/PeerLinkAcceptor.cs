using Microsoft.Extensions.Logging;
using VirtualCluster.P2P.PeerConnections;
using VirtualCluster.P2P.Sdp;
using VirtualCluster.P2P.Signaling;
using VirtualCluster.Routing.BrowserDirect;
using VirtualCluster.Routing.Signaling;

namespace VirtualCluster.Routing.PeerLinks;

/// <summary>
/// The agent's side of peer links: answers offers from gateways (peers named <c>gateway:&lt;name&gt;</c>; anyone else
/// is ignored) and bridges every <c>tcp/&lt;port&gt;</c> channel they open to 127.0.0.1:&lt;port&gt;, but only for a port
/// of one of this node's instances (the same rule as the tunnel). Bad offers are logged and dropped; nothing a peer
/// sends ends the acceptor.
/// </summary>
/// <remarks>
/// Browsers a gateway relays for (<see cref="BrowserPeerName"/>) are answered too when the agent passes
/// <c>isBrowserServicePort</c>, and their channels reach only the ports of instances of the service named in the peer
/// name (and only of a service that opted in to the browser-direct path). Each browser session ends with its
/// connection (failed or closed), so a browser that leaves costs nothing.
/// </remarks>
public sealed partial class PeerLinkAcceptor
{
    private readonly ISignalingEndpoint endpoint;
    private readonly Func<PeerLinkOptions> options;
    private readonly Func<int, bool> isInstancePort;
    private readonly Func<string, int, bool>? isBrowserServicePort;
    private readonly ILoggerFactory loggers;
    private readonly ILogger logger;
    private readonly TimeProvider time;

    /// <param name="endpoint">This agent's signaling connection to a gateway's hub.</param>
    /// <param name="options">Current link settings (the ICE servers may change after a config refresh).</param>
    /// <param name="isInstancePort">True when a port belongs to a running or starting instance of this node.</param>
    /// <param name="isBrowserServicePort">
    /// True when a port belongs to a running instance of the named service and that service opted in to the
    /// browser-direct path; null refuses every browser.
    /// </param>
    public PeerLinkAcceptor(ISignalingEndpoint endpoint, Func<PeerLinkOptions> options, Func<int, bool> isInstancePort, ILoggerFactory loggers, TimeProvider? time = null,
        Func<string, int, bool>? isBrowserServicePort = null)
    {
        this.isBrowserServicePort = isBrowserServicePort;
        this.endpoint = endpoint;
        this.options = options;
        this.isInstancePort = isInstancePort;
        this.loggers = loggers;
        logger = loggers.CreateLogger<PeerLinkAcceptor>();
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>Answers gateways until <paramref name="cancellationToken"/> is cancelled; then closes every link.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var served = new List<Task>();
        try
        {
            await foreach (var peer in endpoint.NewPeers.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!peer.StartsWith(SignalingHub.LocalPeerPrefix, StringComparison.Ordinal))
                {
                    LogNotAGateway(logger, ChannelProtocol.Shorten(peer));
                    endpoint.Release(peer);
                    continue;
                }
                served.RemoveAll(t => t.IsCompleted);
                if (BrowserPeerName.TryParse(peer, out var service))
                {
                    if (isBrowserServicePort is not { } allowed)
                    {
                        LogBrowserRefused(logger, peer);
                        endpoint.Release(peer);
                        continue;
                    }
                    served.Add(ServeBrowserAsync(peer, port => allowed(service, port), $"an instance of \"{service}\" on this node (a browser reaches only the service it signaled for)", cancellationToken));
                    continue;
                }
                served.Add(ServePeerAsync(peer, isInstancePort, "an instance running on this node", null, cancellationToken));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        await Task.WhenAll(served).ConfigureAwait(false);
    }

    private async Task ServeBrowserAsync(string peer, Func<int, bool> allowed, string scope, CancellationToken ct)
    {
        using var session = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            await ServePeerAsync(peer, allowed, scope, session, session.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (session.IsCancellationRequested)
        {
        }
        finally
        {
            endpoint.Release(peer);
        }
    }

    /// <param name="peer">The gateway or browser that offers.</param>
    /// <param name="allowed">The ports its channels may reach.</param>
    /// <param name="scope">What <paramref name="allowed"/> lets through, for refusals.</param>
    /// <param name="endWithConnection">Cancelled when the peer's connection fails or closes (a browser's session), or null.</param>
    private async Task ServePeerAsync(string peer, Func<int, bool> allowed, string scope, CancellationTokenSource? endWithConnection, CancellationToken ct)
    {
        var channel = endpoint.ChannelTo(peer);
        var live = new List<(string Session, PeerConnection Connection)>();
        try
        {
            while (await channel.ReceiveAsync(ct).ConfigureAwait(false) is { } message)
            {
                // Links that died are closed when their gateway next speaks (it offers a new one soon after).
                foreach (var dead in live.Where(s => s.Connection.ConnectionState is PeerConnectionState.Failed or PeerConnectionState.Closed).ToList())
                {
                    live.Remove(dead);
                    await dead.Connection.DisposeAsync().ConfigureAwait(false);
                }
                if (message.Session is not { Length: > 0 and <= 64 } session)
                {
                    LogBadMessage(logger, peer, "a message without a session id");
                    continue;
                }
                if (message is OfferMessage offer)
                {
                    if (live.Any(s => s.Session == session)) continue;
                    if (await AnswerAsync(peer, session, offer, allowed, scope, endWithConnection, ct).ConfigureAwait(false) is not { } connection)
                    {
                        TryCancel(endWithConnection); // a browser whose offer was bad gets no second session on this name
                        continue;
                    }
                    live.Add((session, connection));
                    while (live.Count > options().MaxSessionsPerPeer)
                    {
                        _ = live[0].Connection.DisposeAsync().AsTask();
                        live.RemoveAt(0);
                    }
                }
                else if (live.FirstOrDefault(s => s.Session == session).Connection is { } connection)
                {
                    if (!SdpSignaling.TryApplyCandidate(connection, message)) LogBadMessage(logger, peer, $"an unexpected {message.GetType().Name} in session {session}");
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested && endWithConnection is null)
        {
        }
        finally
        {
            foreach (var (_, connection) in live) await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<PeerConnection?> AnswerAsync(string peer, string session, OfferMessage offer, Func<int, bool> allowed, string scope,
        CancellationTokenSource? endWithConnection, CancellationToken ct)
    {
        if (offer.Sdp is not { Length: > 0 } sdp)
        {
            LogBadOffer(logger, peer, "the offer carries no SDP");
            return null;
        }
        var settings = options();
        var connection = new PeerConnection(settings.ForConnection(), time, loggers, settings.SocketFactory);
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.IceCandidate += candidate => _ = TrickleAsync(peer, SdpSignaling.Trickle(candidate, session), answered.Task, ct);
        connection.DataChannel += dc => _ = ChannelBridge.ServeAsync(dc, peer, allowed, settings.HighWaterMark, logger, scope);
        connection.ConnectionStateChanged += state =>
        {
            if (state == PeerConnectionState.Connected) LogLinked(logger, peer, SdpSignaling.PathOf(connection) ?? "?");
            if (state is PeerConnectionState.Failed or PeerConnectionState.Closed) TryCancel(endWithConnection);
        };
        try
        {
            connection.SetRemoteDescription(new SessionDescription(SdpType.Offer, sdp));
            var answer = await connection.CreateAnswerAsync(ct).ConfigureAwait(false);
            await SdpSignaling.SendAsync(endpoint, peer, session, answer, ct).ConfigureAwait(false);
            answered.TrySetResult();
            return connection;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or SignalingDeliveryException)
        {
            LogBadOffer(logger, peer, e.Message);
            answered.TrySetCanceled();
            await connection.DisposeAsync().ConfigureAwait(false);
            return null;
        }
    }

    private static void TryCancel(CancellationTokenSource? source)
    {
        try
        {
            source?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The session ended already.
        }
    }

    private async Task TrickleAsync(string peer, SignalingMessage message, Task answered, CancellationToken ct)
    {
        try
        {
            // A candidate must not overtake the answer: the gateway drops messages of sessions it has no answer for.
            await answered.ConfigureAwait(false);
            await endpoint.SendAsync(peer, message, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or SignalingDeliveryException)
        {
        }
    }

    [LoggerMessage(5311, LogLevel.Warning, "Peer link: signaling from {Peer} ignored: only gateways may offer links to an agent")]
    private static partial void LogNotAGateway(ILogger logger, string peer);

    [LoggerMessage(5312, LogLevel.Warning, "Peer link: offer from {Peer} refused: {Reason}")]
    private static partial void LogBadOffer(ILogger logger, string peer, string reason);

    [LoggerMessage(5313, LogLevel.Debug, "Peer link: signaling from {Peer} ignored: {Reason}")]
    private static partial void LogBadMessage(ILogger logger, string peer, string reason);

    [LoggerMessage(5315, LogLevel.Warning, "Peer link: browser {Peer} refused: this agent does not serve the browser-direct path")]
    private static partial void LogBrowserRefused(ILogger logger, string peer);

    [LoggerMessage(5314, LogLevel.Information, "Peer link with {Peer} is up ({Path})")]
    private static partial void LogLinked(ILogger logger, string peer, string path);
}
