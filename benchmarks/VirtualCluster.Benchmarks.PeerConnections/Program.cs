using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.PeerConnections;

// Data channels side by side in one run, both peers of each pair in one process on loopback:
//   .NET PeerConnection against .NET PeerConnection, and node-datachannel (libdatachannel) against itself.
// Setup: from CreateOffer to the first message received (ICE + DTLS + SCTP + DCEP), median of --runs connections.
// Throughput: one reliable ordered channel, --mb MiB in 64 KiB messages (at most 4 MiB buffered), and the process's
// CPU seconds per GB carried (both ends' work, since both run in the process).
// Usage: dotnet run -c Release --project benchmarks/VirtualCluster.Benchmarks.PeerConnections -- [--runs 10] [--mb 200]
//        ... -- --nat [--warm-up] [--runs 10] [--mb 100] [--pair cone1+cone2] [--relay-pairs cone1+cone2,...|none]
//                 [--transfers 1] [--no-node] [--show-logs]     (NAT lab, as root: see NatLabSetup.cs)
var runs = Arg("--runs") is { } r ? PositiveInt("--runs", r) : 10;
// --nat: across the NAT lab instead (root only): .NET against .NET and node-datachannel against node-datachannel
// (unless --no-node) on each pair of homes, and again with TURN forced on --relay-pairs (default cone1+cone2);
// --pair cone1+cone2 for one pair, --mb 0 for setup only, --transfers N for the median of N transfers per row (on the
// first N connections), --show-logs for the peers' logs
if (args.Contains("--nat"))
{
    return await NatLabSetup.RunAsync(new NatLabOptions(runs, Arg("--pair"), args.Contains("--show-logs"), args.Contains("--warm-up"),
        Arg("--inline-wait") is { } iw ? ["--inline-wait", iw] : [],
        Arg("--mb") is { } natMb ? PositiveInt("--mb", natMb, allowZero: true) : 100,
        Arg("--relay-pairs") is { } rp ? (rp == "none" ? [] : rp.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) : ["cone1+cone2"],
        Node: !args.Contains("--no-node"),
        Transfers: Arg("--transfers") is { } tr ? PositiveInt("--transfers", tr) : 1));
}
var mb = Arg("--mb") is { } m ? PositiveInt("--mb", m) : 200;

var setups = new List<double>();
for (var i = 0; i < runs + 1; i++)
{
    var (a, b, ms, _) = await ConnectAsync();
    if (i > 0) setups.Add(ms); // the first run pays JIT and certificate-generation warm-up
    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $".NET setup {i}: {ms:0} ms"));
    await a.DisposeAsync();
    await b.DisposeAsync();
}
var (pa, pb, _, _) = await ConnectAsync();
var bulk = new TaskCompletionSource<DataChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
pb.DataChannel += c => { if (c.Label == "bulk") bulk.TrySetResult(c); };
var channel = pa.CreateDataChannel("bulk");
await channel.WaitForOpenAsync();
var accepted = await bulk.Task.WaitAsync(TimeSpan.FromSeconds(30));
var (seconds, cpuPerGb, bytes) = await ThroughputAsync(channel, accepted!, (long)mb * 1024 * 1024);
Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $".NET: {bytes} bytes in {seconds:0.00} s ({bytes * 8 / seconds / 1e6:0} Mbit/s, {cpuPerGb:0.0} CPU s per GB); retransmitted chunks {pa.Sctp!.RetransmittedChunks}/{pb.Sctp!.RetransmittedChunks}, DTLS datagrams dropped {pa.Dtls!.DroppedDatagrams}/{pb.Dtls!.DroppedDatagrams}"));
await pa.DisposeAsync();
await pb.DisposeAsync();

if (args.Contains("--no-node")) return 0;
var node = RunNode(runs, mb);
var nodeSetups = node["setupMs"]!.AsArray().Select(x => (double)x!).Skip(1).ToList();
var dotnetMbps = bytes * 8 / seconds / 1e6;
var nodeMbps = (double)node["mbps"]!;
Console.WriteLine("| peers (loopback, both in one process) | setup median ms | setup min-max ms | throughput Mbit/s | CPU s per GB |");
Console.WriteLine("|---|---:|---:|---:|---:|");
Console.WriteLine(Row(".NET PeerConnection ↔ .NET", setups, dotnetMbps, cpuPerGb));
Console.WriteLine(Row("node-datachannel ↔ node-datachannel", nodeSetups, nodeMbps, (double)node["cpuSecondsPerGB"]!));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"\nratio .NET / node-datachannel: throughput {dotnetMbps / nodeMbps:0.00}, setup median {Median(setups) / Median(nodeSetups):0.00}"));
return 0;

static async Task<(PeerConnection A, PeerConnection B, double Ms, Task<DataChannel?> Remote)> ConnectAsync()
{
    // --pmtu: the .NET peers probe for datagrams up to 16 KiB (as the gateway's peer links do); default 1200 bytes like node-datachannel
    PeerConnectionOptions Options() => new()
    {
        Ice = new IceAgentOptions { LocalAddresses = [IPAddress.Loopback], IncludeLoopback = true },
        Dtls = new VirtualCluster.P2P.Dtls.DtlsTransportOptions { MaxProbeMtu = Environment.GetCommandLineArgs().Contains("--pmtu") ? VirtualCluster.P2P.Dtls.DtlsTransportOptions.MaxRecordDatagram : 0 },
    };
    var started = Stopwatch.GetTimestamp();
    var a = new PeerConnection(Options());
    var b = new PeerConnection(Options());
    a.IceCandidate += c => b.AddIceCandidate(c);
    b.IceCandidate += c => a.AddIceCandidate(c);
    var first = new TaskCompletionSource<DataChannel?>(TaskCreationOptions.RunContinuationsAsynchronously);
    b.DataChannel += c => c.MessageReceived += (ch, _, _) => first.TrySetResult(ch);
    b.SetRemoteDescription(await a.CreateOfferAsync());
    a.SetRemoteDescription(await b.CreateAnswerAsync());
    var channel = a.CreateDataChannel("first");
    await channel.WaitForOpenAsync();
    channel.Send("first");
    var remote = await first.Task.WaitAsync(TimeSpan.FromSeconds(30));
    return (a, b, Stopwatch.GetElapsedTime(started).TotalMilliseconds, Task.FromResult(remote));
}

static async Task<(double Seconds, double CpuPerGb, long Bytes)> ThroughputAsync(DataChannel channel, DataChannel remote, long total)
{
    long got = 0;
    var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    remote.MessageReceived += (_, d, _) => { if (Interlocked.Add(ref got, d.Length) >= total) done.TrySetResult(); };
    var chunk = new byte[64 * 1024];
    Random.Shared.NextBytes(chunk);
    var low = new SemaphoreSlim(0);
    channel.BufferedAmountLowThreshold = 1 << 20;
    channel.BufferedAmountLow += _ => low.Release();
    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    var t0 = Stopwatch.GetTimestamp();
    for (long sent = 0; sent < total; sent += chunk.Length)
    {
        while (channel.BufferedAmount > 4 << 20) await low.WaitAsync(20);
        channel.Send(chunk);
    }
    await done.Task.WaitAsync(TimeSpan.FromMinutes(10));
    var seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
    var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
    return (seconds, cpu / (got / 1e9), got);
}

static JsonObject RunNode(int runs, int mb)
{
    var folder = RepoRoot() is { } root ? Path.Combine(root, "tests", "interop", "node") : throw new InvalidOperationException("cannot find the repository root");
    var info = new ProcessStartInfo("node") { WorkingDirectory = folder, RedirectStandardOutput = true, UseShellExecute = false };
    foreach (var a in new[] { "bench.mjs", (runs + 1).ToString(CultureInfo.InvariantCulture), mb.ToString(CultureInfo.InvariantCulture) }) info.ArgumentList.Add(a);
    using var p = Process.Start(info)!;
    var output = p.StandardOutput.ReadToEnd();
    p.WaitForExit();
    return JsonNode.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.StartsWith('{')))!.AsObject();
}

static string? RepoRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "VirtualCluster.Sdk.sln"))) return dir.FullName;
    }
    return null;
}

static double Median(List<double> xs)
{
    var s = xs.Order().ToList();
    return s.Count == 0 ? double.NaN : s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
}

static string Row(string name, List<double> setups, double mbps, double cpuPerGb) => string.Create(CultureInfo.InvariantCulture,
    $"| {name} | {Median(setups):0} | {setups.Min():0}-{setups.Max():0} | {mbps:0} | {cpuPerGb:0.0} |");

// a bad number ends the program with what was wrong, not with a FormatException's stack trace
static int PositiveInt(string option, string text, bool allowZero = false)
{
    if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && (n > 0 || (allowZero && n == 0)) && n <= 100_000) return n;
    Console.Error.WriteLine($"{option} {text}: expected a whole number from {(allowZero ? 0 : 1)} to 100000");
    Environment.Exit(2);
    return 0;
}

string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
