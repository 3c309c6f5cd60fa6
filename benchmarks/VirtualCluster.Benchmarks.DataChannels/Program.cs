using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using VirtualCluster.Benchmarks.DataChannels;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.Sctp;
using VirtualCluster.P2P.Transport;

// Throughput of one reliable, ordered data channel carrying 64 KiB messages between two SctpAssociations in one
// process: over an in-memory link and over loopback UDP (no DTLS), each beside a reference measured in the same run
// (the bare transport carrying packets of the same size with no SCTP). Reports Mbit/s of user data and CPU seconds
// per GB (process CPU time, both ends, divided by user bytes).
// Usage: dotnet run -c Release --project benchmarks/VirtualCluster.Benchmarks.DataChannels -- [--mb 1000] [--mtu 1200] [--runs 3]
// or ... -- --pingpong 200 [--transport udp]: request/response round trips over one DataChannelStream pair vs TCP loopback.
var megabytes = Arg("--mb") is { } m ? int.Parse(m, CultureInfo.InvariantCulture) : 1000;
var mtu = Arg("--mtu") is { } u ? int.Parse(u, CultureInfo.InvariantCulture) : 1200;
var runs = Arg("--runs") is { } r ? int.Parse(r, CultureInfo.InvariantCulture) : 3;
var packetsPerSack = Arg("--sack") is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : new SctpOptions().PacketsPerSack;
var receiveWindow = Arg("--rwnd-kb") is { } w ? int.Parse(w, CultureInfo.InvariantCulture) * 1024 : new SctpOptions().ReceiveWindow;
var transports = Arg("--transport") is { } t ? new[] { t } : new[] { "memory", "udp" };
if (Arg("--pingpong") is { } rounds0)
{
    // Request/response latency over one kept-alive stream pair (see PingPong.cs), 1 KiB and 100 KiB responses.
    // The peer transport probes for larger datagrams as the gateway's peer links do, unless --no-pmtu.
    PingPong.ProbeMtu = args.Contains("--no-pmtu") ? 0 : VirtualCluster.P2P.Dtls.DtlsTransportOptions.MaxRecordDatagram;
    await PingPong.RunAsync(transports, mtu, int.Parse(rounds0, CultureInfo.InvariantCulture), 1024, [1024, 100 * 1024],
        Arg("--pairs") is { } pp ? int.Parse(pp, CultureInfo.InvariantCulture) : 1);
    return 0;
}
const int MessageSize = 64 * 1024;

Console.WriteLine($"# {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, GC {(GCSettings.IsServerGC ? "server" : "workstation")}");
Console.WriteLine($"# {megabytes} MB per run in {MessageSize / 1024} KiB messages, packets of {mtu} bytes, a SACK per {packetsPerSack} packets, receive window {receiveWindow / 1024} KiB, best of {runs}");
Console.WriteLine("| transport | what | Mbit/s | CPU s per GB | retransmitted packets |");
Console.WriteLine("|---|---|---:|---:|---:|");
foreach (var kind in transports)
{
    var reference = Best(runs, () => RawTransport(kind, mtu, megabytes));
    Console.WriteLine($"| {kind} | bare transport, {mtu}-byte packets (reference) | {reference.Mbps:0} | {reference.CpuPerGb:0.00} | - |");
    var sctp = Best(runs, () => Sctp(kind, mtu, megabytes, packetsPerSack, receiveWindow).GetAwaiter().GetResult());
    Console.WriteLine($"| {kind} | SCTP data channel, reliable ordered | {sctp.Mbps:0} | {sctp.CpuPerGb:0.00} | {sctp.Retransmits} |");
}
return 0;

static Result Best(int runs, Func<Result> run) => Enumerable.Range(0, runs).Select(_ => run()).MaxBy(x => x.Mbps)!;

static (IPacketTransport A, IPacketTransport B, IDisposable? Owner) Pair(string kind, int mtu)
{
    if (kind == "memory")
    {
        var link = new MemoryLink(mtu) { QueueLimit = 65536 };
        return (link.A, link.B, link);
    }
    var (a, b) = UdpPacketTransport.CreatePair(mtu);
    return (a, b, null);
}

static Result RawTransport(string kind, int mtu, int megabytes)
{
    var (a, b, owner) = Pair(kind, mtu);
    long received = 0;
    b.Received = p => Interlocked.Add(ref received, p.Length);
    var packet = new byte[mtu];
    var total = (long)megabytes * 1024 * 1024;
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    long sent = 0;
    while (sent < total)
    {
        a.Send(packet);
        sent += mtu;
        // Pace to what the receiver keeps up with (the bare transport has no flow control; we measure delivery).
        while (sent - Interlocked.Read(ref received) > 4 * 1024 * 1024) Thread.SpinWait(20);
    }
    var deadline = Stopwatch.StartNew();
    while (Interlocked.Read(ref received) < sent * 0.99 && deadline.Elapsed < TimeSpan.FromSeconds(2)) Thread.Sleep(1);
    sw.Stop();
    var cpuUsed = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
    var bytes = Interlocked.Read(ref received);
    a.DisposeAsync().AsTask().Wait();
    b.DisposeAsync().AsTask().Wait();
    owner?.Dispose();
    return new Result(bytes * 8 / sw.Elapsed.TotalSeconds / 1e6, cpuUsed / (bytes / 1e9), 0);
}

static async Task<Result> Sctp(string kind, int mtu, int megabytes, int packetsPerSack, int receiveWindow)
{
    var (ta, tb, owner) = Pair(kind, mtu);
    var metricsBefore = 0L;
    var options = new SctpOptions { PacketsPerSack = packetsPerSack, ReceiveWindow = receiveWindow };
    await using var a = new SctpAssociation(ta, isDtlsClient: true, options);
    await using var b = new SctpAssociation(tb, isDtlsClient: false, options);
    a.RemoteMaxMessageSize = b.LocalMaxMessageSize;
    var accepted = new TaskCompletionSource<DataChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
    b.DataChannelOpened += c => accepted.TrySetResult(c);
    await Task.WhenAll(a.ConnectAsync(), b.ConnectAsync()).WaitAsync(TimeSpan.FromSeconds(10));
    var channel = a.CreateDataChannel("bench");
    var remote = await accepted.Task.WaitAsync(TimeSpan.FromSeconds(10));
    var total = (long)megabytes * 1024 * 1024;
    long received = 0;
    var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    remote.MessageReceived += (_, data, _) => { if (Interlocked.Add(ref received, data.Length) >= total) done.TrySetResult(); };
    var low = new SemaphoreSlim(0);
    const long highWater = 4 * 1024 * 1024;
    channel.BufferedAmountLowThreshold = highWater / 2;
    channel.BufferedAmountLow += _ => low.Release();
    var message = new byte[MessageSize];
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    for (long sent = 0; sent < total; sent += MessageSize)
    {
        while (channel.BufferedAmount > highWater) await low.WaitAsync(TimeSpan.FromMilliseconds(50));
        channel.Send(message);
    }
    await done.Task.WaitAsync(TimeSpan.FromMinutes(5));
    sw.Stop();
    var cpuUsed = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
    var retransmits = a.RetransmittedChunks - metricsBefore;
    await ta.DisposeAsync();
    await tb.DisposeAsync();
    owner?.Dispose();
    return new Result(total * 8 / sw.Elapsed.TotalSeconds / 1e6, cpuUsed / (total / 1e9), retransmits);
}

string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

internal sealed record Result(double Mbps, double CpuPerGb, long Retransmits);
