using VirtualCluster.P2P.PeerConnections;
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

    /// <summary>Forgets a connection's session and closes it now, ending its proxied connections.</summary>
    private void Abandon(PeerConnection connection)
    {
        foreach (var entry in sessions.Where(e => ReferenceEquals(e.Value, connection)).ToList()) sessions.TryRemove(entry);
        active.TryRemove(connection, out _);
        _ = Task.Run(() => connection.DisposeAsync().AsTask());
    }

    /// <summary>Forgets a connection's session and closes it once its proxied connections are done (or after a minute).</summary>
    private void Retire(PeerConnection connection)
    {
        foreach (var entry in sessions.Where(e => ReferenceEquals(e.Value, connection)).ToList()) sessions.TryRemove(entry);
        _ = Task.Run(async () =>
        {
            var deadline = time.GetUtcNow() + RetireAfter;
            while (connection.ConnectionState == PeerConnectionState.Connected && active.GetValueOrDefault(connection) > 0 && time.GetUtcNow() < deadline)
                await Task.Delay(TimeSpan.FromMilliseconds(500), time).ConfigureAwait(false);
            active.TryRemove(connection, out _);
            await connection.DisposeAsync().ConfigureAwait(false);
        });
    }
}
