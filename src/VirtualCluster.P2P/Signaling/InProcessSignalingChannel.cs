using System.Threading.Channels;

namespace VirtualCluster.P2P.Signaling;

/// <summary>
/// Two connected in-process channels, for tests and single-process setups. Messages go through their JSON form so the
/// wire format is exercised as well.
/// </summary>
public sealed class InProcessSignalingChannel : ISignalingChannel
{
    private readonly Channel<string> _inbox;
    private readonly Channel<string> _outbox;

    private InProcessSignalingChannel(Channel<string> inbox, Channel<string> outbox) => (_inbox, _outbox) = (inbox, outbox);

    /// <summary>Creates both ends.</summary>
    public static (InProcessSignalingChannel A, InProcessSignalingChannel B) CreatePair()
    {
        var ab = Channel.CreateUnbounded<string>();
        var ba = Channel.CreateUnbounded<string>();
        return (new InProcessSignalingChannel(ba, ab), new InProcessSignalingChannel(ab, ba));
    }

    /// <summary>Messages sent by this end, for assertions.</summary>
    public int Sent { get; private set; }

    /// <inheritdoc />
    public async Task SendAsync(SignalingMessage message, CancellationToken cancellationToken = default)
    {
        await _outbox.Writer.WriteAsync(message.ToJson(), cancellationToken).ConfigureAwait(false);
        Sent++;
    }

    /// <inheritdoc />
    public async ValueTask<SignalingMessage?> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        while (await _inbox.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_inbox.Reader.TryRead(out var json) && SignalingMessage.TryParse(json, out var message)) return message;
        }
        return null;
    }

    /// <summary>Closes this end's sending side; the peer's <see cref="ReceiveAsync"/> then returns null.</summary>
    public void Complete() => _outbox.Writer.TryComplete();
}
