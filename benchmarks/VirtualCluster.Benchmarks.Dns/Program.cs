using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VirtualCluster.Dns;

// DNS queries per second the gateway's responder answers over UDP on loopback, against a bare UDP echo server in the
// same run (the socket round trip with no DNS work: the most any responder could answer here with this client).
// Usage: dotnet run -c Release --project benchmarks/VirtualCluster.Benchmarks.Dns -- [--seconds 5] [--clients 4] [--window 32] [--runs 3]
var seconds = Arg("--seconds", 5);
var clients = Arg("--clients", 4);
var window = Arg("--window", 32);
var runs = Arg("--runs", 3);
if (seconds is < 1 or > 600 || clients is < 1 or > 64 || window is < 1 or > 1024 || runs is < 1 or > 20)
{
    Console.Error.WriteLine("--seconds 1-600, --clients 1-64, --window 1-1024, --runs 1-20");
    return 2;
}

var options = Options.Create(new DnsServerOptions
{
    Listen = "127.0.0.1:0", Domain = "vc.bench", Addresses = ["127.0.0.1"], Tcp = false,
    QueriesPerSecondPerSource = 1_000_000, BurstPerSource = 1_000_000, // one source here: the limit is not what is measured
});
using var dns = new DnsServer(options, new Names(), TimeProvider.System, new DnsMetrics(), NullLogger<DnsServer>.Instance);
await dns.StartAsync(CancellationToken.None);
using var echo = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
echo.Bind(new IPEndPoint(IPAddress.Loopback, 0));
using var stop = new CancellationTokenSource();
var echoLoop = Task.Run(() => EchoAsync(echo, stop.Token));

Console.WriteLine($"# DNS responder, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {Load()}");
Console.WriteLine($"{clients} client sockets, {window} queries in flight each, {seconds} s per row, alternating rows");
Console.WriteLine("| run | server | queries/s | answers checked |");
Console.WriteLine("|---:|---|---:|---|");
var query = Query("hello.vc.bench");
var dnsRates = new List<double>();
var echoRates = new List<double>();
for (var run = 1; run <= runs; run++)
{
    var (rate, ok) = await MeasureAsync(dns.LocalEndPoint!, query, expectAnswer: true);
    dnsRates.Add(rate);
    Console.WriteLine($"| {run} | our responder (A hello.vc.bench) | {rate.ToString("N0", CultureInfo.InvariantCulture)} | {ok} |");
    (rate, ok) = await MeasureAsync((IPEndPoint)echo.LocalEndPoint!, query, expectAnswer: false);
    echoRates.Add(rate);
    Console.WriteLine($"| {run} | bare UDP echo (reference) | {rate.ToString("N0", CultureInfo.InvariantCulture)} | {ok} |");
}
var median = Median(dnsRates) / Median(echoRates);
Console.WriteLine($"median: responder {Median(dnsRates).ToString("N0", CultureInfo.InvariantCulture)} /s, echo {Median(echoRates).ToString("N0", CultureInfo.InvariantCulture)} /s, ratio {median:0.00}; load average at the end {Load()}");
await stop.CancelAsync();
echo.Dispose();
await echoLoop;
await dns.StopAsync(CancellationToken.None);
return 0;

async Task<(double Rate, string Checked)> MeasureAsync(IPEndPoint target, byte[] message, bool expectAnswer)
{
    var answered = 0L;
    var bad = 0L;
    var until = Stopwatch.GetTimestamp() + (long)(seconds * (double)Stopwatch.Frequency);
    var started = Stopwatch.GetTimestamp();
    var tasks = Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(target);
        socket.ReceiveTimeout = 1000;
        var buffer = new byte[1500];
        for (var i = 0; i < window; i++) await socket.SendAsync(message, SocketFlags.None);
        while (Stopwatch.GetTimestamp() < until)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            int n;
            try
            {
                n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                await socket.SendAsync(message, SocketFlags.None); // a lost datagram: put one back in flight
                continue;
            }
            // An answer: same id, QR set, one answer record (ANCOUNT 1). The echo returns the query as it was.
            var good = n >= 12 && buffer[0] == message[0] && buffer[1] == message[1] && (!expectAnswer || ((buffer[2] & 0x80) != 0 && buffer[7] == 1));
            if (good) Interlocked.Increment(ref answered); else Interlocked.Increment(ref bad);
            await socket.SendAsync(message, SocketFlags.None);
        }
    })).ToArray();
    await Task.WhenAll(tasks);
    var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
    return (answered / elapsed, bad == 0 ? "all" : $"{bad} unexpected");
}

static async Task EchoAsync(Socket socket, CancellationToken ct)
{
    var buffer = new byte[1500];
    EndPoint any = new IPEndPoint(IPAddress.Any, 0);
    while (!ct.IsCancellationRequested)
    {
        try
        {
            var r = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, ct);
            await socket.SendToAsync(buffer.AsMemory(0, r.ReceivedBytes), SocketFlags.None, r.RemoteEndPoint, ct);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            if (ct.IsCancellationRequested) return;
        }
    }
}

static byte[] Query(string name)
{
    var b = new List<byte> { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
    foreach (var label in name.Split('.'))
    {
        b.Add((byte)label.Length);
        b.AddRange(System.Text.Encoding.ASCII.GetBytes(label));
    }
    b.AddRange(new byte[] { 0, 0, 1, 0, 1 }); // root, type A, class IN
    return [.. b];
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}

static string Load() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var v) ? v : fallback;
}

sealed class Names : IDnsRecordSource
{
    public bool HasAddress(string relativeName) => relativeName == "hello";
    public IReadOnlyList<string> FindText(string relativeName) => [];
}
