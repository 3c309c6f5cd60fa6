using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VirtualCluster;
using VirtualCluster.Api;
using Resources = VirtualCluster.Resources;
using VirtualCluster.ControlPlane;
using VirtualCluster.ControlPlane.Tls;
using VirtualCluster.Security.Tls;

// What TLS adds to the control plane's hot paths, measured against plain HTTP in the same run: two real control planes
// (Kestrel, embedded store, the real API) in this process, one https and one http, measured in alternating rounds so
// that a change in the machine's load hits both alike. See README.md.
var rounds = 5;
var heartbeats = 2000;
var deploys = 200;
var handshakes = 200;
// --inline: Kestrel's socket transport with UnsafePreferInlineScheduling (as the standalone gateway runs), an experiment
// on how much of TLS's cost is hand-offs between threads rather than cryptography.
var inline = args.Contains("--inline");
args = [.. args.Where(a => a != "--inline")];
for (var i = 0; i < args.Length - 1; i++)
{
    var value = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    switch (args[i])
    {
        case "--rounds": rounds = value; i++; break;
        case "--heartbeats": heartbeats = value; i++; break;
        case "--deploys": deploys = value; i++; break;
        case "--handshakes": handshakes = value; i++; break;
    }
}

await using var plain = await Api.StartAsync(tls: false, inline);
await using var secure = await Api.StartAsync(tls: true, inline);
var results = new Dictionary<string, List<double>>();
void Add(string key, double value) => (results.TryGetValue(key, out var list) ? list : results[key] = []).Add(value);
void AddBoth(string key, (double Wall, double Cpu, double Switches) value)
{
    Add(key, value.Wall);
    Add("cpu " + key, value.Cpu);
    Add("switches " + key, value.Switches);
}

// Wall µs and CPU µs (this process: client and server together) per request. CPU time is far less sensitive than
// latency to what else the machine runs, so it is the figure to trust on a loaded machine.
// Context switches per request too (every thread of the process, from /proc): where TLS's added CPU goes when it is
// not the cryptography (a profile shows libcrypto and libssl at under 2 % of the samples).
static async Task<(double Wall, double Cpu, double Switches)> Measure(Func<Task> run, int requests)
{
    var process = System.Diagnostics.Process.GetCurrentProcess();
    process.Refresh();
    var cpu = process.TotalProcessorTime;
    var switches = ContextSwitches();
    var watch = Stopwatch.StartNew();
    await run();
    var wall = watch.Elapsed;
    process.Refresh();
    return (wall.TotalMicroseconds / requests, (process.TotalProcessorTime - cpu).TotalMicroseconds / requests, (double)(ContextSwitches() - switches) / requests);
}

static long ContextSwitches()
{
    long total = 0;
    if (!Directory.Exists("/proc/self/task")) return 0;
    foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
    {
        try
        {
            foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    total += long.Parse(line[(line.IndexOf(':') + 1)..].Trim(), CultureInfo.InvariantCulture);
        }
        catch (IOException) { } // the thread ended meanwhile
    }
    return total;
}

Console.WriteLine($"TLS benchmark{(inline ? " (Kestrel: UnsafePreferInlineScheduling)" : "")}: {rounds} rounds of {heartbeats} heartbeats, {deploys} deploy+remove, {handshakes} new connections per path; load {Load()}");
await plain.WarmUpAsync();
await secure.WarmUpAsync();
// Keeps both nodes alive while the other path is measured (a few heartbeats a second, on their own connections).
using var stop = new CancellationTokenSource();
var keepAlive = Task.WhenAll(plain.KeepAliveAsync(stop.Token), secure.KeepAliveAsync(stop.Token));
for (var round = 0; round < rounds; round++)
{
    foreach (var api in round % 2 == 0 ? new[] { plain, secure } : [secure, plain])
    {
        AddBoth($"{api.Name} heartbeat", await Measure(() => api.HeartbeatsAsync(heartbeats), heartbeats));
        AddBoth($"{api.Name} heartbeat, sized body", await Measure(() => api.HeartbeatsAsync(heartbeats, sized: true), heartbeats));
        AddBoth($"{api.Name} deploy", await Measure(() => api.DeploysAsync(deploys, round), deploys * 2));
        AddBoth($"{api.Name} new connection", await Measure(() => api.NewConnectionsAsync(handshakes), handshakes));
    }
    Console.Error.WriteLine($"round {round + 1}/{rounds} done, load {Load()}");
}

await stop.CancelAsync();
await keepAlive;
Console.WriteLine();
foreach (var (title, prefix) in new[] { ("time per request, wall clock", ""), ("CPU per request (client and server, this process)", "cpu "),
             ("context switches per request (every thread of this process; the 'µs' columns are switches)", "switches ") })
{
    Console.WriteLine($"{title}:");
    Console.WriteLine("| path | http µs per request (median of rounds) | https µs | added by TLS | added % | load average |");
    Console.WriteLine("|---|---:|---:|---:|---:|---|");
    foreach (var path in new[] { "heartbeat", "heartbeat, sized body", "deploy", "new connection" })
    {
        var http = Median(results[$"{prefix}http {path}"]);
        var https = Median(results[$"{prefix}https {path}"]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {path} | {http:0.00} | {https:0.00} | {https - http:+0.0;-0.0} µs | {(https - http) / http * 100:+0.0;-0.0} % | {Load()} |"));
    }
    Console.WriteLine();
}
return 0;

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}

static string Load() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

/// <summary>A control plane on Kestrel (loopback, free port) with one joined node, and clients for it.</summary>
internal sealed class Api : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vc-bench-tls-").FullName;
    private WebApplication _app = null!;
    private HttpClient _admin = null!;
    private HttpClient _machine = null!;
    private string _machineToken = "";
    private string _nodeId = "";

    public string Name { get; private set; } = "";

    public static async Task<Api> StartAsync(bool tls, bool inline)
    {
        var api = new Api { Name = tls ? "https" : "http" };
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        if (inline) builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = true);
        builder.WebHost.ConfigureKestrel(k => k.ListenControlPlane(new Uri(tls ? "https://127.0.0.1:0" : "http://127.0.0.1:0")));
        builder.Services.AddVirtualClusterControlPlane(o => o.DataDirectory = api._directory);
        api._app = builder.Build();
        api._app.MapVirtualClusterApi();
        await api._app.StartAsync();
        var address = new Uri(api._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        api._admin = api.Client(address, File.ReadAllText(Path.Combine(api._directory, ClusterCredentials.AdminTokenFile)).Trim());
        var join = new JoinRequest(File.ReadAllText(Path.Combine(api._directory, ClusterCredentials.JoinTokenFile)).Trim(), "node-1", "127.0.0.1",
            new Resources(64_000, 256L << 30, 1L << 40), ["process"], new PortRange(21000, 29999), null);
        var joined = await (await api._admin.PostAsJsonAsync("v1/join", join, VirtualClusterJson.Options)).EnsureSuccessStatusCode()
            .Content.ReadFromJsonAsync<JoinResponse>(VirtualClusterJson.Options);
        api._nodeId = joined!.NodeId;
        api._machineToken = joined.Token;
        api._machine = api.Client(address, joined.Token);
        return api;
    }

    private HttpClient Client(Uri address, string token)
    {
        // As agents and the CLI trust it: the cluster CA pinned by fingerprint, fetched and checked first.
        var handler = address.Scheme == "https"
            ? PinnedHttp.CreateHandler(_app.Services.GetRequiredService<ClusterTls>().Fingerprint)
            : new SocketsHttpHandler();
        var client = new HttpClient(handler) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer " + token);
        return client;
    }

    public async Task KeepAliveAsync(CancellationToken ct)
    {
        using var client = Client(_machine.BaseAddress!, _machineToken);
        var body = new HeartbeatRequest(new ResourceUsage(100, 1L << 30, 1L << 30), new Resources(64_000, 256L << 30, 1L << 40), ["process"], []);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await client.PostAsJsonAsync($"v1/nodes/{_nodeId}/heartbeat", body, VirtualClusterJson.Options, ct);
                await Task.Delay(200, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async Task WarmUpAsync()
    {
        await HeartbeatsAsync(500);
        await DeploysAsync(20, -1);
        await NewConnectionsAsync(20);
    }

    /// <summary>
    /// Heartbeats one after another on a kept-alive connection (as an agent sends them). The body is JsonContent
    /// (streamed: chunked transfer encoding), or with <paramref name="sized"/> serialized first and sent with a
    /// Content-Length, so the request goes out in one write.
    /// </summary>
    public async Task HeartbeatsAsync(int count, bool sized = false)
    {
        var body = new HeartbeatRequest(new ResourceUsage(100, 1L << 30, 1L << 30), new Resources(64_000, 256L << 30, 1L << 40), ["process"], []);
        for (var i = 0; i < count; i++)
        {
            HttpContent content = sized
                ? new ByteArrayContent(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(body, VirtualClusterJson.Options)) { Headers = { ContentType = new("application/json") } }
                : JsonContent.Create(body, options: VirtualClusterJson.Options);
            using (content)
            using (var response = await _machine.PostAsync($"v1/nodes/{_nodeId}/heartbeat", content))
                response.EnsureSuccessStatusCode();
        }
    }

    /// <summary>Deploys (POST /v1/services, placed and stored) and their removals, on a kept-alive connection.</summary>
    public async Task DeploysAsync(int count, int round)
    {
        for (var i = 0; i < count; i++)
        {
            var name = $"bench-{(round < 0 ? "warm" : round.ToString(CultureInfo.InvariantCulture))}-{i}";
            var spec = $$"""{ "name": "{{name}}", "command": "dotnet", "args": ["x.dll"], "resources": { "cpu": "10m", "memory": "1Mi" } }""";
            (await _admin.PostAsync("v1/services", new StringContent(spec, Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
            (await _admin.DeleteAsync($"v1/services/{name}")).EnsureSuccessStatusCode();
        }
    }

    /// <summary>Heartbeats on a new connection each time (TCP, and for https the TLS handshake).</summary>
    public async Task NewConnectionsAsync(int count)
    {
        var body = new HeartbeatRequest(new ResourceUsage(100, 1L << 30, 1L << 30), new Resources(64_000, 256L << 30, 1L << 40), ["process"], []);
        var address = _machine.BaseAddress!;
        var ca = _app.Services.GetRequiredService<ClusterTls>().Ca.Certificate;
        for (var i = 0; i < count; i++)
        {
            using var handler = new SocketsHttpHandler();
            if (address.Scheme == "https") handler.SslOptions.RemoteCertificateValidationCallback = PinnedCaValidator.ForCertificate(ca).Validate;
            using var client = new HttpClient(handler) { BaseAddress = address };
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer " + _machineToken);
            (await client.PostAsJsonAsync($"v1/nodes/{_nodeId}/heartbeat", body, VirtualClusterJson.Options)).EnsureSuccessStatusCode();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _admin?.Dispose();
        _machine?.Dispose();
        await _app.DisposeAsync();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
