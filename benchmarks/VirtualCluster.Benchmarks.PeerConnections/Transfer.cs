using System.Globalization;
using System.Text.Json.Nodes;
using VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>One transfer between two connected peer processes and what it cost.</summary>
/// <param name="Mbps">Payload bits per second, from the sender's first message to the receiver's last (one shared clock).</param>
/// <param name="CpuPerGb">Both processes' CPU seconds (user + system, all threads) during the transfer, per GB carried.</param>
/// <param name="CoturnDrops">Datagrams the kernel dropped at coturn's full socket buffers during the transfer.</param>
/// <param name="PeerDrops">Datagrams dropped at the two peers' full socket buffers.</param>
internal sealed record Transfer(long Bytes, double Seconds, double Mbps, double CpuPerGb, string? Failure, long CoturnDrops = 0, long PeerDrops = 0)
{
    /// <summary>
    /// Asks both peers for their CPU time, makes the offerer send <paramref name="mb"/> MiB on a new reliable ordered
    /// channel (64 KiB messages, at most 4 MiB buffered), waits for the answerer to have them all, and asks for the CPU
    /// time again. The same commands for the .NET peer program and nat-peer.mjs; <paramref name="ticksPerSecond"/> is
    /// the unit of their time stamps (Stopwatch ticks, or nanoseconds for node: both CLOCK_MONOTONIC).
    /// </summary>
    public static async Task<Transfer> RunAsync(PeerProcess a, PeerProcess b, int mb, double ticksPerSecond)
    {
        var cpu0 = await CpuAsync(a, b, 1);
        a.Send(string.Create(CultureInfo.InvariantCulture, $"{{\"cmd\":\"throughput\",\"mb\":{mb}}}"));
        var start = await a.WaitForEventAsync(e => Event(e) is "tput-start" or "tput-failed", TimeSpan.FromSeconds(30));
        if (Event(start) == "tput-failed") return new Transfer(0, 0, 0, 0, (string?)start["reason"] ?? "failed");
        // at least 10 Mbit/s, or it is broken
        JsonObject done;
        try
        {
            done = await b.WaitForEventAsync(e => Event(e) == "tput-done", TimeSpan.FromSeconds(30 + mb * 0.84));
        }
        catch (TimeoutException)
        {
            // where it stopped: each peer's CPU event (node's also says how much was sent, buffered and received)
            a.Send("{\"cmd\":\"cpu\",\"id\":99}");
            b.Send("{\"cmd\":\"cpu\",\"id\":99}");
            await Task.Delay(1000);
            var status = string.Join(" / ", new[] { a, b }.Select(p => p.Events.LastOrDefault(e => Event(e) == "cpu")?.ToJsonString() ?? "no answer"));
            return new Transfer(0, 0, 0, 0, $"stalled or too slow (under 10 Mbit/s): {status}");
        }
        var cpu1 = await CpuAsync(a, b, 2);
        // the stacks' own counters (the .NET peer's retransmissions and drops), to tell loss from CPU limits
        foreach (var (name, p) in new[] { ("offerer", a), ("answerer", b) })
        {
            if (p.Events.LastOrDefault(e => Event(e) == "cpu" && (int?)e["id"] == 2)?["stats"] is { } stats && stats.ToString() is { Length: > 0 } text)
                Console.Error.WriteLine($"  {name}: {text}");
        }
        var bytes = (long)done["bytes"]!;
        var seconds = ((long)done["ts"]! - (long)start["ts"]!) / ticksPerSecond;
        var failure = bytes < (long)mb << 20 ? $"only {bytes} bytes arrived: {(string?)done["reason"]}" : null;
        return new Transfer(bytes, seconds, bytes * 8 / seconds / 1e6, (cpu1 - cpu0) / (bytes / 1e9), failure);
    }

    private static string? Event(JsonObject e) => (string?)e["event"];

    private static async Task<double> CpuAsync(PeerProcess a, PeerProcess b, int id)
    {
        var command = string.Create(CultureInfo.InvariantCulture, $"{{\"cmd\":\"cpu\",\"id\":{id}}}");
        a.Send(command);
        b.Send(command);
        bool Match(JsonObject e) => Event(e) == "cpu" && (int?)e["id"] == id;
        var both = await Task.WhenAll(a.WaitForEventAsync(Match, TimeSpan.FromSeconds(30)), b.WaitForEventAsync(Match, TimeSpan.FromSeconds(30)));
        return both.Sum(e => (double)e["seconds"]!);
    }
}
