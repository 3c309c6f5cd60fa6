namespace VirtualCluster.P2P.Signaling;

/// <summary>
/// A bidirectional, ordered, reliable channel for <see cref="SignalingMessage"/>s between two peers. A later
/// signaling service routes these between machines; <see cref="InProcessSignalingChannel"/> connects two agents in one
/// process and <see cref="JsonLinesSignalingChannel"/> carries them over a text stream.
/// </summary>
/// <remarks>
/// Contract: messages arrive in the order sent and none is lost while both ends are open; <see cref="ReceiveAsync"/>
/// returns null once the other side completed and everything sent was read; malformed input is dropped, never thrown.
/// </remarks>
public interface ISignalingChannel
{
    /// <summary>Sends one message.</summary>
    Task SendAsync(SignalingMessage message, CancellationToken cancellationToken = default);

    /// <summary>The next message, or null when the channel is closed.</summary>
    ValueTask<SignalingMessage?> ReceiveAsync(CancellationToken cancellationToken = default);
}
