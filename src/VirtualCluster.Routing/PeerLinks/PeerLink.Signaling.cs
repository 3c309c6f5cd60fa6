using VirtualCluster.P2P.Sdp;
using VirtualCluster.P2P.Signaling;
using VirtualCluster.Routing.Signaling;

namespace VirtualCluster.Routing.PeerLinks;

internal sealed partial class PeerLink
{
    private async Task ReadSignalingAsync(CancellationToken ct)
    {
        var channel = endpoint.ChannelTo(node);
        try
        {
            while (await channel.ReceiveAsync(ct).ConfigureAwait(false) is { } message)
            {
                if (message.Session is not { } session || !sessions.TryGetValue(session, out var connection)) continue;
                try
                {
                    if (message is AnswerMessage { Sdp: { Length: > 0 } sdp }) connection.SetRemoteDescription(new SessionDescription(SdpType.Answer, sdp));
                    else SdpSignaling.TryApplyCandidate(connection, message);
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                {
                    LogBadAnswer(logger, node, e.Message);
                    sessions.TryRemove(session, out _);
                    _ = connection.DisposeAsync().AsTask();
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task TrickleAsync(SignalingMessage message, Task offered, CancellationToken ct)
    {
        try
        {
            await offered.ConfigureAwait(false);
            await endpoint.SendAsync(node, message, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or SignalingDeliveryException)
        {
        }
    }
}
