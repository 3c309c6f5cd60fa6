using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.PeerConnections;
using VirtualCluster.P2P.Sdp;

internal sealed partial class PeerConnectionMode
{
    /// <summary>
    /// --warm-up: connections between two peer connections inside this process (and this home) before "ready", then a
    /// wait until the JIT is idle, so that the measured connection finds its code compiled (tier 1 included), as the
    /// second and later connections of a long-running agent do. Without it the first connection in a fresh process pays
    /// about half a second of JIT for BouncyCastle's handshake, and a single warm-up left the runtime re-compiling hot
    /// methods at tier 1 in the background during the measured connection (on 2 cores, that competes with it).
    /// </summary>
    private static async Task WarmUpAsync(IceAgentOptions iceOptions, ILoggerFactory loggerFactory)
    {
        // with the same logger factory: each log message's first use compiles the logging generics for its state type
        // (tens of ms in all when only the measured connection logged)
        // the last one also carries 16 MiB as the benchmark's transfer does: without it the measured transfer ran its
        // first second on tier-0 code while the JIT's background thread recompiled the data path (15 % of the
        // machine's samples in a perf profile of a relayed transfer); node-datachannel's data path is native code
        for (var i = 0; i < 3; i++) await WarmUpConnectionAsync(iceOptions, loggerFactory, bulkBytes: i == 2 ? 16 << 20 : 0);
        // a long-running agent's heap is in a steady state: collect the warm-up's garbage now, not during the measurement
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        await WaitForIdleJitAsync(TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(15));
    }

    private static async Task WarmUpConnectionAsync(IceAgentOptions iceOptions, ILoggerFactory loggerFactory, long bulkBytes)
    {
        // the same servers as the real connection (TURN and STUN code, credentials, ICU), the two peers in this home;
        // descriptions and candidates go through the same JSON lines as real signaling, so that code is warm too
        await using var a = new PeerConnection(new PeerConnectionOptions { Ice = iceOptions }, loggerFactory: loggerFactory);
        await using var b = new PeerConnection(new PeerConnectionOptions { Ice = iceOptions }, loggerFactory: loggerFactory);
        a.IceCandidate += c => b.AddIceCandidate(RoundTrip(new JsonObject { ["type"] = "cand", ["candidate"] = c }, "candidate"));
        b.IceCandidate += c => a.AddIceCandidate(RoundTrip(new JsonObject { ["type"] = "cand", ["candidate"] = c }, "candidate"));
        var got = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        b.DataChannel += c => c.MessageReceived += (_, _, _) => got.TrySetResult();
        var offer = await a.CreateOfferAsync();
        b.SetRemoteDescription(new SessionDescription(SdpType.Offer, RoundTrip(new JsonObject { ["type"] = "sdp", ["sdpType"] = "offer", ["sdp"] = offer.Sdp }, "sdp")!));
        var answer = await b.CreateAnswerAsync();
        a.SetRemoteDescription(new SessionDescription(SdpType.Answer, RoundTrip(new JsonObject { ["type"] = "sdp", ["sdpType"] = "answer", ["sdp"] = answer.Sdp }, "sdp")!));
        var channel = a.CreateDataChannel("warm-up");
        await channel.WaitForOpenAsync().WaitAsync(TimeSpan.FromSeconds(20));
        channel.Send("warm-up");
        await got.Task.WaitAsync(TimeSpan.FromSeconds(20));
        if (bulkBytes > 0) await WarmUpTransferAsync(a, b, bulkBytes);
    }

    /// <summary>The benchmark's transfer in miniature (64 KiB messages, at most 4 MiB buffered) on a channel of its own.</summary>
    private static async Task WarmUpTransferAsync(PeerConnection from, PeerConnection receiver, long total)
    {
        long received = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        receiver.DataChannel += c =>
        {
            if (c.Label == "warm-up-bulk") c.MessageReceived += (_, data, _) => { if ((received += data.Length) >= total) done.TrySetResult(); };
        };
        var sender = from.CreateDataChannel("warm-up-bulk");
        await sender.WaitForOpenAsync().WaitAsync(TimeSpan.FromSeconds(20));
        var chunk = new byte[64 * 1024];
        var low = new SemaphoreSlim(0);
        sender.BufferedAmountLowThreshold = 1 << 20;
        sender.BufferedAmountLow += _ => low.Release();
        for (long sent = 0; sent < total; sent += chunk.Length)
        {
            while (sender.BufferedAmount > 4 << 20) await low.WaitAsync(20);
            sender.Send(chunk);
        }
        await done.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    private static string? RoundTrip(JsonObject message, string field) => (string?)(JsonNode.Parse(message.ToJsonString()) as JsonObject)?[field];

    /// <summary>Waits until no method has been compiled for <paramref name="quiet"/> (tiered re-compilation done), at most <paramref name="limit"/>.</summary>
    private static async Task WaitForIdleJitAsync(TimeSpan quiet, TimeSpan limit)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        var count = System.Runtime.JitInfo.GetCompiledMethodCount();
        var quietSince = Stopwatch.GetTimestamp();
        while (Stopwatch.GetTimestamp() < deadline && Stopwatch.GetElapsedTime(quietSince) < quiet)
        {
            await Task.Delay(50);
            var now = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (now != count) (count, quietSince) = (now, Stopwatch.GetTimestamp());
        }
    }
}
