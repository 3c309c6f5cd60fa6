using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using VirtualCluster.P2P.Signaling;

namespace VirtualCluster.Routing.Signaling;

/// <summary>
/// An agent's or gateway's connection to the signaling hub: one WebSocket, kept up with reconnects and exponential
/// backoff, shared by a <see cref="PeerSignalingChannel"/> (an <see cref="ISignalingChannel"/>) per remote peer.
/// </summary>
/// <remarks>
/// Messages sent while the hub is unreachable wait for the next connection (or the caller's cancellation). Messages
/// from a peer wait in that peer's queue (<see cref="SignalingClientOptions.PeerQueueLength"/>, oldest dropped first)
/// until read. Hub errors (unknown peer, rate limit) arrive on <see cref="Errors"/>.
/// </remarks>
public sealed class SignalingClient : ISignalingEndpoint, IAsyncDisposable
{
    private readonly SignalingClientOptions options;
    private readonly TimeProvider time;
    private readonly SignalingInboxes inboxes;
    private readonly Channel<SignalingFrame> errors = Channel.CreateBounded<SignalingFrame>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly CancellationTokenSource stopping = new();
    private readonly SemaphoreSlim sendLock = new(1, 1);
    private TaskCompletionSource<ClientWebSocket> connected = NewConnected();
    private Task? loop;

    /// <summary>Creates a client; call <see cref="Start"/> to connect.</summary>
    /// <exception cref="ArgumentException">The options are invalid (the message lists every problem).</exception>
    public SignalingClient(SignalingClientOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems), nameof(options));
        this.options = options;
        this.time = time ?? TimeProvider.System;
        inboxes = new SignalingInboxes(options.PeerQueueLength);
    }

    /// <inheritdoc />
    public ChannelReader<string> NewPeers => inboxes.NewPeers;

    /// <inheritdoc />
    public void Release(string peer) => inboxes.Release(peer);

    /// <summary>Who the hub says this connection is (set once welcomed).</summary>
    public SignalingIdentity? Identity { get; private set; }

    /// <summary>Connections made so far (1 after the first, more after reconnects).</summary>
    public int Connections { get; private set; }

    /// <summary>Error frames from the hub, e.g. <see cref="SignalingErrorCodes.UnknownPeer"/> with the addressee in <c>To</c>.</summary>
    public ChannelReader<SignalingFrame> Errors => errors.Reader;

    /// <summary>Starts connecting in the background (idempotent).</summary>
    public void Start() => loop ??= Task.Run(RunAsync);

    /// <summary>Waits until the hub has welcomed this client.</summary>
    public async Task WaitConnectedAsync(CancellationToken cancellationToken = default) =>
        await connected.Task.WaitAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>The channel to <paramref name="peer"/>; the same inbox for every call with that name.</summary>
    public PeerSignalingChannel ChannelTo(string peer)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(peer);
        return new PeerSignalingChannel(this, peer, inboxes.Reader(peer));
    }

    /// <summary>Sends <paramref name="message"/> to <paramref name="peer"/>, waiting for a connection if there is none.</summary>
    public async Task SendAsync(string peer, SignalingMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(peer);
        ArgumentNullException.ThrowIfNull(message);
        var bytes = Encoding.UTF8.GetBytes(SignalingFrame.Outgoing(peer, message));
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping.Token);
        while (true)
        {
            var socket = await connected.Task.WaitAsync(linked.Token).ConfigureAwait(false);
            await sendLock.WaitAsync(linked.Token).ConfigureAwait(false);
            try
            {
                await socket.SendAsync(bytes, WebSocketMessageType.Text, true, linked.Token).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is WebSocketException or ObjectDisposedException)
            {
                // The connection dropped while sending: wait for the next one and send again.
            }
            finally
            {
                sendLock.Release();
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, linked.Token).ConfigureAwait(false);
        }
    }

    private async Task RunAsync()
    {
        var backoff = options.InitialBackoff;
        while (!stopping.IsCancellationRequested)
        {
            using var socket = new ClientWebSocket();
            try
            {
                var token = await options.TokenProvider!(stopping.Token).ConfigureAwait(false);
                socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
                if (options.ConfigureSocket is { } configure) await configure(socket.Options, stopping.Token).ConfigureAwait(false);
                await socket.ConnectAsync(options.HubUri!, stopping.Token).ConfigureAwait(false);
                Connections++;
                if (await ReadAsync(socket).ConfigureAwait(false)) backoff = options.InitialBackoff;
            }
            catch (Exception e) when (e is WebSocketException or HttpRequestException or IOException or InvalidOperationException)
            {
                // Refused or unreachable: try again after the backoff.
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            if (connected.Task.IsCompleted) connected = NewConnected();
            var jitter = backoff * (Random.Shared.NextDouble() * 0.25);
            try
            {
                await Task.Delay(backoff + jitter, time, stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            backoff = TimeSpan.FromTicks(Math.Min(options.MaxBackoff.Ticks, backoff.Ticks * 2));
        }
    }

    /// <summary>Reads frames until the connection ends; true when it had been welcomed (a working connection).</summary>
    private async Task<bool> ReadAsync(ClientWebSocket socket)
    {
        var buffer = new byte[64 * 1024];
        var welcomed = false;
        while (true)
        {
            var length = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                // The hub's frames are small; a frame past 1 MiB is cut off and then fails to parse.
                if (length == buffer.Length && buffer.Length < 1024 * 1024) Array.Resize(ref buffer, buffer.Length * 2);
                result = await socket.ReceiveAsync(buffer.AsMemory(Math.Min(length, buffer.Length - 1)), stopping.Token).ConfigureAwait(false);
                length = Math.Min(length + result.Count, buffer.Length);
            }
            while (!result.EndOfMessage);
            if (result.MessageType == WebSocketMessageType.Close) return welcomed;
            if (!SignalingFrame.TryParse(Encoding.UTF8.GetString(buffer, 0, length), out var frame)) continue;
            switch (frame.Kind)
            {
                case "welcome":
                    Identity = new SignalingIdentity(frame.Cluster ?? "", frame.Peer ?? "");
                    welcomed = true;
                    connected.TrySetResult(socket);
                    break;
                case "message" when frame.From is not null && frame.Message is { } json
                                    && SignalingMessage.TryParse(json.GetRawText(), out var message):
                    inboxes.Deliver(frame.From, message);
                    break;
                case "error":
                    errors.Writer.TryWrite(frame);
                    break;
            }
        }
    }

    private static TaskCompletionSource<ClientWebSocket> NewConnected() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Closes the connection and ends every peer channel (their ReceiveAsync returns null).</summary>
    public async ValueTask DisposeAsync()
    {
        if (stopping.IsCancellationRequested) return;
        await stopping.CancelAsync().ConfigureAwait(false);
        if (loop is not null)
        {
            try
            {
                await loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        inboxes.CompleteAll();
        errors.Writer.TryComplete();
        stopping.Dispose();
        sendLock.Dispose();
    }
}
