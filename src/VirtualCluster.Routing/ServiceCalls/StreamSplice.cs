using System.Net.Sockets;
using VirtualCluster.Routing.Tunnel;

namespace VirtualCluster.Routing.ServiceCalls;

/// <summary>
/// Copies bytes both ways between two streams until both directions ended. A clean end of one direction is passed on
/// as a half close where the other stream can take one (a socket, a tunnel stream, a stream pair). Where it cannot (a
/// data channel has no half close), the other direction still runs, for at most <see cref="HalfCloseGrace"/>: a caller
/// that sends its request and then its end (an HTTP/1.0 client, <c>printf | nc</c>) still gets its answer. A failed
/// direction closes both at once, so a connection never outlives its caller.
/// </summary>
public static class StreamSplice
{
    /// <summary>How long the other direction may go on after one ended cleanly where the end could not be passed on.</summary>
    public static readonly TimeSpan HalfCloseGrace = TimeSpan.FromSeconds(30);

    private enum End { Failed, HalfClosed, NotPassedOn }

    /// <summary>Runs until both directions ended; disposes neither stream (but closes both when a direction fails).</summary>
    public static Task RunAsync(Stream a, Stream b, CancellationToken cancellationToken = default) =>
        RunAsync(a, b, HalfCloseGrace, cancellationToken);

    internal static async Task RunAsync(Stream a, Stream b, TimeSpan grace, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var up = PumpAsync(a, b, stop.Token);
        var down = PumpAsync(b, a, stop.Token);
        var first = await Task.WhenAny(up, down).ConfigureAwait(false);
        var other = first == up ? down : up;
        var end = await first.ConfigureAwait(false);
        if (end == End.NotPassedOn && await Task.WhenAny(other, Task.Delay(grace, stop.Token)).ConfigureAwait(false) != other)
            end = End.Failed; // the other side never finished: close both
        if (end == End.Failed)
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await a.DisposeAsync().ConfigureAwait(false);
            await b.DisposeAsync().ConfigureAwait(false);
        }
        await Task.WhenAll(up, down).ConfigureAwait(false);
    }

    private static async Task<End> PumpAsync(Stream from, Stream to, CancellationToken ct)
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
            return TryHalfClose(to) ? End.HalfClosed : End.NotPassedOn;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or SocketException or InvalidOperationException)
        {
            return End.Failed;
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
