using System.Threading.Channels;
using VirtualCluster.P2P.Signaling;

namespace VirtualCluster.Routing.Signaling;

/// <summary>The signaling channel to one remote peer, carried by a participant's hub connection (<see cref="ISignalingEndpoint"/>).</summary>
public sealed class PeerSignalingChannel : ISignalingChannel
{
    private readonly ISignalingEndpoint endpoint;
    private readonly ChannelReader<SignalingMessage> inbox;

    internal PeerSignalingChannel(ISignalingEndpoint endpoint, string peer, ChannelReader<SignalingMessage> inbox)
    {
        this.endpoint = endpoint;
        this.inbox = inbox;
        Peer = peer;
    }

    /// <summary>The remote peer's name.</summary>
    public string Peer { get; }

    /// <inheritdoc />
    public Task SendAsync(SignalingMessage message, CancellationToken cancellationToken = default) =>
        endpoint.SendAsync(Peer, message, cancellationToken);

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
