using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.PeerConnections;
using VirtualCluster.P2P.Sdp;

/// <summary>
/// The peer program's <c>--pc</c> mode: a whole <see cref="PeerConnection"/> (ICE + DTLS + SCTP + DCEP) instead of a bare
/// ICE agent. Signaling lines: {"type":"sdp","sdpType":"offer"|"answer","sdp":...} and {"type":"cand","candidate":...|null}.
/// The controlling peer offers on "start" and opens channel "first"; the answerer reports "connected" when the first
/// message arrives, with a CLOCK_MONOTONIC timestamp ("ts", Stopwatch ticks) that the harness compares with the
/// offerer's "started" event (both processes share the kernel's monotonic clock, namespaces do not change it).
/// Commands: {"cmd":"bulk","mb":N} (offerer: sends N MiB of seeded random bytes on channel "bulk:&lt;bytes&gt;"; the
/// answerer reports {"event":"bulk","bytes":..,"sha256":..,"ms":..} when it has them all or the channel closes),
/// {"cmd":"throughput","mb":N} and {"cmd":"cpu","id":k} for the benchmark (PeerConnectionMode.Throughput.cs).
/// </summary>
internal sealed partial class PeerConnectionMode(bool controlling, IceAgentOptions iceOptions, ILoggerFactory loggerFactory, Action<JsonObject> emit)
{
    private readonly TaskCompletionSource _remoteSet = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private PeerConnection? _pc;

    /// <summary>--inline-wait ms: overrides <see cref="PeerConnectionOptions.InlineCandidateWait"/>.</summary>
    public static TimeSpan? InlineWait { get; set; }
    private readonly long _created = Stopwatch.GetTimestamp();
    private long _started;
    private long _iceAt, _connectedAt;

    /// <summary>Runs the mode until "quit" or the end of stdin.</summary>
    public static async Task<int> RunAsync(bool controlling, bool waitStart, bool warmUp, IceAgentOptions iceOptions, ILoggerFactory loggerFactory, TextWriter output)
    {
        void Emit(JsonObject json) => output.WriteLine(json.ToJsonString());
        if (warmUp) await WarmUpAsync(iceOptions, loggerFactory);
        Marks.Attach(Emit); // after the warm-up: its connections log too, but print no marks
        var mode = new PeerConnectionMode(controlling, iceOptions, loggerFactory, Emit);
        Emit(new JsonObject { ["event"] = "ready" });
        if (!waitStart) mode.Start();
        while (await Console.In.ReadLineAsync() is { } line)
        {
            var readAt = Stopwatch.GetTimestamp();
            JsonObject? json;
            try { json = JsonNode.Parse(line) as JsonObject; } catch (System.Text.Json.JsonException) { continue; }
            if (json is null) continue;
            if ((string?)json["type"] == "sdp")
            {
                // on this (reading) thread: a hop to the thread pool first is harness overhead, not the stack's
                Marks.Mark($"{(string?)json["sdpType"]}-in", null, readAt);
                await mode.OnDescriptionAsync((string?)json["sdpType"], (string?)json["sdp"] ?? "");
                continue;
            }
            if (mode.OnSignaling(json, readAt)) continue;
            switch ((string?)json["cmd"])
            {
                case "start":
                    mode.Start();
                    break;
                case "bulk":
                    _ = Task.Run(() => mode.SendBulkAsync((int?)json["mb"] ?? 1));
                    break;
                case "throughput":
                    _ = Task.Run(() => mode.SendThroughputAsync((int?)json["mb"] ?? 100));
                    break;
                case "cpu":
                    Emit(new JsonObject { ["event"] = "cpu", ["id"] = (int?)json["id"] ?? 0, ["seconds"] = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, ["stats"] = mode.Stats() });
                    break;
                case "quit":
                    await mode.CloseAsync();
                    return 0;
            }
        }
        await mode.CloseAsync();
        return 0;
    }

    /// <summary>What the benchmark prints beside a transfer: SCTP retransmissions, DTLS datagrams dropped or refused, ICE drops.</summary>
    private string Stats() => _pc is not { } pc ? "" :
        $"retransmitted {pc.Sctp?.RetransmittedChunks ?? 0} (fast retransmits {pc.Sctp?.FastRetransmits ?? 0}, T3 {pc.Sctp?.RetransmissionTimeouts ?? 0}), dtls dropped {pc.Dtls?.DroppedDatagrams ?? 0} refused {pc.Dtls?.RefusedRecords ?? 0}, ice dropped {pc.Ice?.DroppedPackets ?? 0}, relayed {pc.Ice?.SelectedPair?.IsRelayed}";

    // per-phase timestamps (monotonic clock) on stdout, to see where setup time goes (Marks.cs)
    private static void Trace(string what) => Marks.Mark(what);

    public void Start()
    {
        if (!controlling) return; // the answerer starts when the offer arrives
        _started = Stopwatch.GetTimestamp();
        emit(new JsonObject { ["event"] = "started", ["ts"] = _started });
        _ = OfferAsync(); // on this thread up to its first await: no thread-pool hop before the offer
    }

    private PeerConnection Create()
    {
        var options = new PeerConnectionOptions { Ice = iceOptions };
        if (InlineWait is { } wait) options.InlineCandidateWait = wait;
        var pc = new PeerConnection(options, loggerFactory: loggerFactory);
        pc.IceCandidate += line =>
        {
            Marks.Mark("cand-out", line);
            emit(new JsonObject { ["type"] = "cand", ["candidate"] = line });
        };
        pc.ConnectionStateChanged += state =>
        {
            if (state == PeerConnectionState.Connected) _connectedAt = Stopwatch.GetTimestamp();
            if (state == PeerConnectionState.Failed) emit(new JsonObject { ["event"] = "failed", ["reason"] = pc.FailureReason });
            emit(new JsonObject { ["event"] = "state", ["state"] = state.ToString(), ["reason"] = pc.FailureReason });
        };
        pc.DataChannel += OnChannel;
        return pc;
    }

    private async Task OfferAsync()
    {
        try
        {
            lock (_early) _pc = Create();
            Trace("offerer-created");
            var offer = await _pc.CreateOfferAsync();
            Trace("offer-created");
            _pc.Ice!.StateChanged += s => { if (s == IceConnectionState.Connected) _iceAt = Stopwatch.GetTimestamp(); };
            Trace("offer-out");
            emit(new JsonObject { ["type"] = "sdp", ["sdpType"] = "offer", ["sdp"] = offer.Sdp });
            await _remoteSet.Task;
            Trace("offerer-resumed");
            var first = _pc.CreateDataChannel("first");
            await first.WaitForOpenAsync();
            Trace("channel-open");
            first.Send("first");
            emit(Connected("offerer-open", first));
        }
        catch (Exception e)
        {
            emit(new JsonObject { ["event"] = "failed", ["reason"] = $"{e.GetType().Name}: {e.Message}" });
        }
    }

    /// <summary>Handles a signaling line from the peer; false when it is not ours.</summary>
    public bool OnSignaling(JsonObject json, long readAt)
    {
        switch ((string?)json["type"])
        {
            case "cand":
                Marks.Mark("cand-in", (string?)json["candidate"], readAt);
                PeerConnection? pc;
                lock (_early)
                {
                    pc = _pc;
                    if (pc is null) _early.Add((string?)json["candidate"]);
                }
                pc?.AddIceCandidate((string?)json["candidate"]);
                return true;
            default:
                return false;
        }
    }

    private readonly List<string?> _early = [];

    public async Task OnDescriptionAsync(string? type, string sdp)
    {
        try
        {
            if (type == "offer")
            {
                _started = Stopwatch.GetTimestamp();
                Trace("answerer-task");
                var pc = Create();
                Trace("answerer-created");
                pc.SetRemoteDescription(new SessionDescription(SdpType.Offer, sdp));
                Trace("offer-set");
                List<string?> early;
                lock (_early)
                {
                    _pc = pc;
                    early = [.. _early];
                    _early.Clear();
                }
                foreach (var c in early) pc.AddIceCandidate(c);
                _pc.Ice!.StateChanged += s => { if (s == IceConnectionState.Connected) _iceAt = Stopwatch.GetTimestamp(); };
                var answer = await _pc.CreateAnswerAsync();
                Trace("answer-created");
                Trace("answer-out");
                emit(new JsonObject { ["type"] = "sdp", ["sdpType"] = "answer", ["sdp"] = answer.Sdp });
            }
            else
            {
                _pc!.SetRemoteDescription(new SessionDescription(SdpType.Answer, sdp));
                Trace("answer-set");
                _remoteSet.TrySetResult();
            }
        }
        catch (Exception e)
        {
            emit(new JsonObject { ["event"] = "failed", ["reason"] = $"{e.GetType().Name}: {e.Message}" });
        }
    }

    private void OnChannel(DataChannel channel)
    {
        if (channel.Label == "first")
        {
            var reported = 0;
            channel.MessageReceived += (c, _, _) => { if (Interlocked.Exchange(ref reported, 1) == 0) emit(Connected("connected", c)); };
        }
        else if (channel.Label.StartsWith("bulk:", StringComparison.Ordinal) && long.TryParse(channel.Label[5..], out var expected))
            ReceiveBulk(channel, expected);
        else if (channel.Label.StartsWith("tput:", StringComparison.Ordinal) && long.TryParse(channel.Label[5..], out var total))
            ReceiveThroughput(channel, total);
    }

    private JsonObject Connected(string name, DataChannel channel)
    {
        var now = Stopwatch.GetTimestamp();
        var pair = _pc?.Ice?.SelectedPair;
        return new JsonObject
        {
            ["event"] = name,
            ["ts"] = now,
            ["ms"] = (long)Stopwatch.GetElapsedTime(_started, now).TotalMilliseconds,
            ["iceMs"] = _iceAt == 0 ? -1 : (long)Stopwatch.GetElapsedTime(_started, _iceAt).TotalMilliseconds,
            ["connectedMs"] = _connectedAt == 0 ? -1 : (long)Stopwatch.GetElapsedTime(_started, _connectedAt).TotalMilliseconds,
            ["sinceProcessMs"] = (long)Stopwatch.GetElapsedTime(_created, now).TotalMilliseconds,
            ["local"] = pair is null ? "?" : IceCandidate.TypeToken(pair.ValidLocal.Type),
            ["remote"] = pair is null ? "?" : IceCandidate.TypeToken(pair.Remote.Type),
            ["relayed"] = pair?.IsRelayed ?? false,
            ["localAddress"] = pair?.ValidLocal.EndPoint.ToString(),
            ["remoteAddress"] = pair?.Remote.EndPoint.ToString(),
            ["label"] = channel.Label,
        };
    }

    /// <summary>Offerer: sends <paramref name="mb"/> MiB of seeded random bytes on a new reliable ordered channel "bulk".</summary>
    public async Task SendBulkAsync(int mb)
    {
        try
        {
            var channel = _pc!.CreateDataChannel($"bulk:{(long)mb << 20}");
            await channel.WaitForOpenAsync();
            var stream = new DataChannelStream(channel); // not disposed: that would close the channel
            var random = new Random(11);
            var chunk = new byte[64 * 1024];
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var started = Stopwatch.GetTimestamp();
            for (long sent = 0; sent < (long)mb << 20; sent += chunk.Length)
            {
                random.NextBytes(chunk);
                hash.AppendData(chunk);
                await stream.WriteAsync(chunk);
            }
            await stream.FlushAsync();
            emit(new JsonObject
            {
                ["event"] = "bulk-sent",
                ["ms"] = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                ["sha256"] = Convert.ToHexStringLower(hash.GetHashAndReset()),
            });
        }
        catch (Exception e)
        {
            emit(new JsonObject { ["event"] = "bulk-failed", ["reason"] = $"{e.GetType().Name}: {e.Message}" });
        }
    }

    private void ReceiveBulk(DataChannel channel, long expected)
    {
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var reported = 0;
        long bytes = 0;
        long first = 0;
        channel.MessageReceived += (_, data, _) =>
        {
            if (first == 0) first = Stopwatch.GetTimestamp();
            hash.AppendData(data);
            bytes += data.Length;
            if (bytes >= expected) Report(null);
        };
        channel.Closed += (_, reason) => Report(reason ?? "closed");
        void Report(string? reason)
        {
            if (Interlocked.Exchange(ref reported, 1) == 1) return;
            emit(new JsonObject
            {
                ["event"] = "bulk",
                ["bytes"] = bytes,
                ["sha256"] = Convert.ToHexStringLower(hash.GetHashAndReset()),
                ["ms"] = first == 0 ? 0 : (long)Stopwatch.GetElapsedTime(first).TotalMilliseconds,
                ["reason"] = reason,
            });
        }
    }

    public async Task CloseAsync()
    {
        if (_pc is { } pc) await pc.DisposeAsync();
    }
}
