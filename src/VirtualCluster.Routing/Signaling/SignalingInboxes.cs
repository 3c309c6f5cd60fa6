using System.Collections.Concurrent;
using System.Threading.Channels;
using VirtualCluster.P2P.Signaling;

namespace VirtualCluster.Routing.Signaling;

/// <summary>
/// The signaling endpoint of one participant (an agent's <see cref="SignalingClient"/>, a gateway's in-process
/// <see cref="LocalSignalingParticipant"/>): a channel per remote peer, and the names of peers that spoke first.
/// </summary>
public interface ISignalingEndpoint
{
    /// <summary>Names of remote peers whose first message just arrived (an answering side learns of new offerers here).</summary>
    ChannelReader<string> NewPeers { get; }

    /// <summary>The channel to <paramref name="peer"/>; the same inbox for every call with that name.</summary>
    PeerSignalingChannel ChannelTo(string peer);

    /// <summary>Drops <paramref name="peer"/>'s inbox and its queued messages (its channel's ReceiveAsync returns null); a later message announces it again.</summary>
    void Release(string peer);

    /// <summary>Sends <paramref name="message"/> to <paramref name="peer"/>.</summary>
    Task SendAsync(string peer, SignalingMessage message, CancellationToken cancellationToken = default);
}

/// <summary>Per-peer bounded inboxes; a peer's first message announces it on <see cref="NewPeers"/>. Bounded in peers too.</summary>
internal sealed class SignalingInboxes(int queueLength, int maxPeers = 4096)
{
    private readonly ConcurrentDictionary<string, Channel<SignalingMessage>> inboxes = new(StringComparer.Ordinal);
    private readonly Channel<string> newPeers = Channel.CreateBounded<string>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest });

    public ChannelReader<string> NewPeers => newPeers.Reader;

    public ChannelReader<SignalingMessage> Reader(string peer) => inboxes.GetOrAdd(peer, _ => Create()).Reader;

    /// <summary>Queues a message from <paramref name="from"/> (oldest dropped when full; dropped when too many peers have inboxes).</summary>
    public void Deliver(string from, SignalingMessage message)
    {
        if (!inboxes.TryGetValue(from, out var inbox))
        {
            if (inboxes.Count >= maxPeers) return;
            var created = Create();
            inbox = inboxes.GetOrAdd(from, created);
            if (ReferenceEquals(inbox, created)) newPeers.Writer.TryWrite(from);
        }
        inbox.Writer.TryWrite(message);
    }

    public void Release(string peer)
    {
        if (inboxes.TryRemove(peer, out var inbox)) inbox.Writer.TryComplete();
    }

    public void CompleteAll()
    {
        foreach (var inbox in inboxes.Values) inbox.Writer.TryComplete();
        newPeers.Writer.TryComplete();
    }

    private Channel<SignalingMessage> Create() =>
        Channel.CreateBounded<SignalingMessage>(new BoundedChannelOptions(queueLength) { FullMode = BoundedChannelFullMode.DropOldest });
}
