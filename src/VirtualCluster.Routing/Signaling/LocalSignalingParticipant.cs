using System.Threading.Channels;
using VirtualCluster.P2P.Signaling;

namespace VirtualCluster.Routing.Signaling;

/// <summary>
/// A peer of the hub in the hub's own process (the gateway): messages go straight into the hub's relay, and frames for
/// it are read from its queue, with no WebSocket. Same rules as any peer: only peers of its cluster are reached.
/// </summary>
public sealed class LocalSignalingParticipant : ISignalingEndpoint, IAsyncDisposable
{
    private readonly SignalingHub hub;
    private readonly SignalingPeer peer;
    private readonly SignalingInboxes inboxes;
    private readonly Task pump;

    internal LocalSignalingParticipant(SignalingHub hub, SignalingPeer peer, int peerQueueLength)
    {
        this.hub = hub;
        this.peer = peer;
        inboxes = new SignalingInboxes(peerQueueLength);
        pump = Task.Run(PumpAsync);
    }

    /// <summary>Who this participant is.</summary>
    public SignalingIdentity Identity => peer.Identity;

    /// <inheritdoc />
    public ChannelReader<string> NewPeers => inboxes.NewPeers;

    /// <inheritdoc />
    public PeerSignalingChannel ChannelTo(string peerName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(peerName);
        return new PeerSignalingChannel(this, peerName, inboxes.Reader(peerName));
    }

    /// <inheritdoc />
    public void Release(string peerName) => inboxes.Release(peerName);

    /// <summary>Relays <paramref name="message"/> at once.</summary>
    /// <exception cref="SignalingDeliveryException">The peer is not connected, or not reading (the code says which).</exception>
    public Task SendAsync(string to, SignalingMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(to);
        ArgumentNullException.ThrowIfNull(message);
        var (code, detail, _) = hub.Deliver(peer, to, message);
        return code is null ? Task.CompletedTask : Task.FromException(new SignalingDeliveryException(code, detail!));
    }

    private async Task PumpAsync()
    {
        try
        {
            await foreach (var text in peer.Outbox.ReadAllAsync().ConfigureAwait(false))
            {
                if (SignalingFrame.TryParse(text, out var frame) && frame.Kind == "message" && frame.From is { } from
                    && frame.Message is { } json && SignalingMessage.TryParse(json.GetRawText(), out var message))
                    inboxes.Deliver(from, message);
            }
        }
        finally
        {
            inboxes.CompleteAll();
        }
    }

    /// <summary>Leaves the hub; every channel's ReceiveAsync returns null.</summary>
    public async ValueTask DisposeAsync()
    {
        hub.Detach(peer);
        await pump.ConfigureAwait(false);
        peer.Dispose();
    }
}

/// <summary>The hub could not deliver a message; <see cref="Code"/> is one of <see cref="SignalingErrorCodes"/>.</summary>
public sealed class SignalingDeliveryException(string code, string detail) : Exception(detail)
{
    /// <summary>Why: unknown-peer (not connected) or peer-busy.</summary>
    public string Code { get; } = code;
}
