using System.Diagnostics;
using System.Text.Json.Nodes;
using VirtualCluster.P2P.DataChannels;

internal sealed partial class PeerConnectionMode
{
    /// <summary>
    /// The benchmark's transfer, the same as tests/interop/node/nat-peer.mjs does with node-datachannel and as the
    /// loopback harness does in-process: {"cmd":"throughput","mb":N} makes the offerer open a reliable ordered channel
    /// "tput:&lt;bytes&gt;" and send N MiB in 64 KiB messages, never more than 4 MiB buffered (resuming below 1 MiB). It
    /// reports {"event":"tput-start","ts":...} before the first message; the answerer reports {"event":"tput-done",
    /// "ts":...,"bytes":...} when it has them all (or the channel closed). CPU comes from {"cmd":"cpu"} before and after.
    /// </summary>
    public async Task SendThroughputAsync(int mb)
    {
        try
        {
            var total = (long)mb << 20;
            var channel = _pc!.CreateDataChannel($"tput:{total}");
            await channel.WaitForOpenAsync();
            var chunk = new byte[64 * 1024];
            new Random(11).NextBytes(chunk);
            var low = new SemaphoreSlim(0); // not disposed: BufferedAmountLow may still fire after the loop
            channel.BufferedAmountLowThreshold = 1 << 20;
            channel.BufferedAmountLow += _ => low.Release();
            emit(new JsonObject { ["event"] = "tput-start", ["ts"] = Stopwatch.GetTimestamp() });
            for (long sent = 0; sent < total; sent += chunk.Length)
            {
                while (channel.BufferedAmount > 4 << 20) await low.WaitAsync(20);
                channel.Send(chunk);
            }
        }
        catch (Exception e)
        {
            emit(new JsonObject { ["event"] = "tput-failed", ["reason"] = $"{e.GetType().Name}: {e.Message}" });
        }
    }

    private void ReceiveThroughput(DataChannel channel, long expected)
    {
        long bytes = 0;
        var reported = 0;
        channel.MessageReceived += (_, data, _) =>
        {
            if ((bytes += data.Length) >= expected) Report(null);
        };
        channel.Closed += (_, reason) => Report(reason ?? "closed");
        void Report(string? reason)
        {
            if (Interlocked.Exchange(ref reported, 1) == 1) return;
            emit(new JsonObject { ["event"] = "tput-done", ["ts"] = Stopwatch.GetTimestamp(), ["bytes"] = Interlocked.Read(ref bytes), ["reason"] = reason });
        }
    }
}
