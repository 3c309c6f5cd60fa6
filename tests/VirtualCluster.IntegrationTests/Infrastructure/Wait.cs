namespace VirtualCluster.IntegrationTests.Infrastructure;

/// <summary>Polling with a deadline: integration tests wait on conditions, never on fixed sleeps.</summary>
internal static class Wait
{
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition()) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or System.Text.Json.JsonException)
            {
                last = e;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"timed out after {timeout.TotalSeconds} s waiting for {what}" + (last is null ? "" : $" (last error: {last.Message})"));
    }

    /// <summary>
    /// The first port of <paramref name="count"/> consecutive ports that all bind on loopback now, below the kernel's
    /// ephemeral range (32768 up): a block inside that range can be taken at any moment by an outgoing connection's
    /// local port, which made a host-port test fail when Docker could not publish a port of the block.
    /// </summary>
    public static int FreePortBlock(int count)
    {
        const int low = 23000, high = 32000; // ManualCluster and local clusters start at 20000; the ephemeral range at 32768
        var start = low + Random.Shared.Next((high - low - count) / count) * count;
        for (var attempt = 0; attempt < (high - low) / count; attempt++)
        {
            var first = low + (start - low + attempt * count) % (high - low - count);
            if (Enumerable.Range(first, count).All(Binds)) return first;
        }
        throw new InvalidOperationException($"no {count} consecutive free ports between {low} and {high}");
    }

    private static bool Binds(int port)
    {
        try
        {
            var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    public static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
