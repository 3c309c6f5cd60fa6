namespace VirtualCluster.Routing.Tunnel;

/// <summary>Copies both ways between a tunnel stream and a local connection, passing half closes through.</summary>
internal static class TunnelBridge
{
    public static async Task RunAsync(TunnelStream tunnel, Stream local)
    {
        var up = PumpAsync(local, tunnel, () => tunnel.CompleteWrites());
        var down = PumpAsync(tunnel, local, () => ShutdownSend(local));
        var first = await Task.WhenAny(up, down).ConfigureAwait(false);
        // A failed direction (reset, connection error) ends the other at once; a clean end waits for the other side.
        if (!await first.ConfigureAwait(false))
        {
            tunnel.Dispose();
            await local.DisposeAsync().ConfigureAwait(false);
        }
        await Task.WhenAll(up, down).ConfigureAwait(false);
    }

    /// <summary>True when the source ended cleanly.</summary>
    private static async Task<bool> PumpAsync(Stream from, Stream to, Action onEnd)
    {
        // One read takes what a service wrote at once (Kestrel writes up to 64 KiB): fewer system calls and frames
        // per response than 16 KiB reads; the tunnel still cuts it into MaxDataFrame pieces.
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var n = await from.ReadAsync(buffer).ConfigureAwait(false);
                if (n == 0) break;
                await to.WriteAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
                await to.FlushAsync().ConfigureAwait(false);
            }
            onEnd();
            return true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static void ShutdownSend(Stream local)
    {
        if (local is System.Net.Sockets.NetworkStream network)
        {
            try { network.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send); }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException) { }
        }
        else if (local is ServiceCalls.IHalfClosable half)
        {
            try { half.CompleteWrites(); }
            catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException) { }
        }
    }
}
