using System.Threading.Channels;
using VirtualCluster.P2P.Signaling;

namespace VirtualCluster.Routing.Signaling;

/// <summary>The signaling channel to one remote peer, carried by a <see cref="SignalingClient"/>'s hub connection.</summary>
public sealed class PeerSignalingChannel : ISignalingChannel
{
    private readonly SignalingClient client;
    private readonly ChannelReader<SignalingMessage> inbox;

    internal PeerSignalingChannel(SignalingClient client, string peer, ChannelReader<SignalingMessage> inbox)
    {
        this.client = client;
        this.inbox = inbox;
        Peer = peer;
    }

    /// <summary>The remote peer's name.</summary>
    public string Peer { get; }

    /// <inheritdoc />
    public Task SendAsync(SignalingMessage message, CancellationToken cancellationToken = default) =>
        client.SendAsync(Peer, message, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<SignalingMessage?> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await inbox.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }
}
