using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;

namespace VirtualCluster.Routing.Signaling;

/// <summary>
/// One connected peer: its socket and a bounded queue of frames to send, written by one writer loop (a WebSocket
/// allows one send at a time). Anyone may enqueue; a full queue refuses instead of growing.
/// </summary>
internal sealed class SignalingPeer : IDisposable
{
    // How long a peer asked to close may take to answer before its connection is dropped.
    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(5);

    private readonly Channel<string> outbox;
    private readonly CancellationTokenSource lifetime;
    private WebSocketCloseStatus closeStatus = WebSocketCloseStatus.NormalClosure;
    private string closeReason = "";
    private int closing;

    private readonly WebSocket? socket;

    /// <param name="socket">The peer's WebSocket; null for an in-process participant, which reads <see cref="Outbox"/> itself.</param>
    public SignalingPeer(SignalingIdentity identity, WebSocket? socket, int queueLength, CancellationToken aborted)
    {
        Identity = identity;
        this.socket = socket;
        outbox = Channel.CreateBounded<string>(new BoundedChannelOptions(queueLength) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        lifetime = CancellationTokenSource.CreateLinkedTokenSource(aborted);
    }

    public SignalingIdentity Identity { get; }

    /// <summary>When the hub registered this connection (by the hub's clock).</summary>
    public DateTimeOffset ConnectedAt { get; set; }

    private static long connections;

    /// <summary>Unique per connection: a peer that reconnects gets a new one (its peers learn it restarted, or lost its network).</summary>
    public long Connection { get; } = Interlocked.Increment(ref connections);

    public WebSocket Socket => socket ?? throw new InvalidOperationException("an in-process participant has no socket");

    /// <summary>The frames queued for this peer (read by the writer loop, or by an in-process participant).</summary>
    public ChannelReader<string> Outbox => outbox.Reader;

    /// <summary>Cancelled when the connection must stop at once.</summary>
    public CancellationToken Lifetime => lifetime.Token;

    /// <summary>Frames waiting to be sent.</summary>
    public int Queued => outbox.Reader.Count;

    /// <summary>Queues a frame; false when the queue is full or the peer is closing.</summary>
    public bool TryEnqueue(string frame) => outbox.Writer.TryWrite(frame);

    /// <summary>Sends what is queued, then a close frame with <paramref name="status"/>; the connection ends after the peer answers or a grace period.</summary>
    public void RequestClose(WebSocketCloseStatus status, string reason)
    {
        if (Interlocked.Exchange(ref closing, 1) == 1) return;
        closeStatus = status;
        closeReason = reason;
        outbox.Writer.TryComplete();
        try
        {
            lifetime.CancelAfter(CloseGrace);
        }
        catch (ObjectDisposedException)
        {
            // Already finished.
        }
    }

    /// <summary>The writer loop: runs until the queue is completed and drained, or the connection is cancelled.</summary>
    public async Task RunWriterAsync()
    {
        try
        {
            await foreach (var frame in outbox.Reader.ReadAllAsync(lifetime.Token).ConfigureAwait(false))
                await Socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, lifetime.Token).ConfigureAwait(false);
            if (Socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await Socket.CloseOutputAsync(closeStatus, closeReason, lifetime.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
            // The connection ended under us; the receive loop notices too.
        }
    }

    public void Abort()
    {
        try
        {
            lifetime.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        socket?.Abort();
    }

    public void Dispose()
    {
        outbox.Writer.TryComplete();
        lifetime.Dispose();
        socket?.Dispose();
    }
}
