using System.Net.Sockets;
using VirtualCluster.Routing.Tunnel;

namespace VirtualCluster.Routing.ServiceCalls;

/// <summary>
/// Copies bytes both ways between two streams until both directions ended. A clean end of one direction is passed on
/// as a half close where the other stream can take one (a socket, a tunnel stream, a stream pair); where it cannot,
/// both streams are closed, so that a connection never outlives its caller. A failed direction closes both at once.
/// </summary>
public static class StreamSplice
{
    /// <summary>Runs until both directions ended; disposes neither stream.</summary>
    public static async Task RunAsync(Stream a, Stream b, CancellationToken cancellationToken = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var up = PumpAsync(a, b, stop.Token);
        var down = PumpAsync(b, a, stop.Token);
        var first = await Task.WhenAny(up, down).ConfigureAwait(false);
        if (!await first.ConfigureAwait(false))
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await a.DisposeAsync().ConfigureAwait(false);
            await b.DisposeAsync().ConfigureAwait(false);
        }
        await Task.WhenAll(up, down).ConfigureAwait(false);
    }

    /// <summary>True when the source ended cleanly and the end was passed on.</summary>
    private static async Task<bool> PumpAsync(Stream from, Stream to, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var n = await from.ReadAsync(buffer, ct).ConfigureAwait(false);
                if (n == 0) break;
                await to.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                await to.FlushAsync(ct).ConfigureAwait(false);
            }
            return TryHalfClose(to);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or SocketException or InvalidOperationException)
        {
            return false;
        }
    }

    private static bool TryHalfClose(Stream stream)
    {
        try
        {
            switch (stream)
            {
                case NetworkStream network:
                    network.Socket.Shutdown(SocketShutdown.Send);
                    return true;
                case TunnelStream tunnel:
                    tunnel.CompleteWrites();
                    return true;
                case IHalfClosable half:
                    half.CompleteWrites();
                    return true;
                default:
                    return false;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException or InvalidOperationException)
        {
            return false;
        }
    }
}
