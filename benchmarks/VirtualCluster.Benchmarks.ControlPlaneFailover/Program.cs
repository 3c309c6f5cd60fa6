using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

// Control-plane failover: time from kill -9 of the leader to a new leader serving the API. See README.md.
var rounds = 10;
var lease = "5s";
for (var i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--rounds") rounds = int.Parse(args[++i], CultureInfo.InvariantCulture);
    else if (args[i] == "--leader-lease") lease = args[++i];
}

var root = FindRoot();
var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Name;
var host = Path.Combine(root, "artifacts", "bin", "VirtualCluster.Host.Console", configuration, "VirtualCluster.Host.Console.dll");
if (!File.Exists(host)) throw new FileNotFoundException($"{host} is missing: build the solution first", host);
var etcdBinary = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "etcd")).FirstOrDefault(File.Exists)
    ?? throw new InvalidOperationException("etcd is not installed: run scripts/install-etcd.sh as root");
var work = Directory.CreateTempSubdirectory("vc-ha-bench-").FullName;
var urls = Enumerable.Range(1, 3).Select(_ => $"http://127.0.0.1:{FreePort()}").ToList();
var processes = new List<Process>();
var controlPlanes = new Dictionary<string, Process>();
using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };

try
{
    var clientPort = FreePort();
    var peerPort = FreePort();
    var etcdUrl = $"http://127.0.0.1:{clientPort}";
    Start(etcdBinary, ["--name", "bench", "--data-dir", Path.Combine(work, "etcd"), "--listen-client-urls", etcdUrl, "--advertise-client-urls", etcdUrl,
        "--listen-peer-urls", $"http://127.0.0.1:{peerPort}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{peerPort}",
        "--initial-cluster", $"bench=http://127.0.0.1:{peerPort}", "--log-level", "error"], Path.Combine(work, "etcd.log"));
    await UntilAsync(async () => (await http.GetStringAsync(etcdUrl + "/health")).Contains("true", StringComparison.Ordinal), "etcd");

    foreach (var url in urls) controlPlanes[url] = StartControlPlane(url, etcdUrl);
    var leader = await AgreedLeaderAsync();
    await UntilAsync(() => Task.FromResult(File.Exists(Path.Combine(work, "cp-1", "admin.token"))), "the admin token");
    var token = (await File.ReadAllTextAsync(Path.Combine(work, "cp-1", "admin.token"))).Trim();
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    Console.WriteLine($"etcd {etcdUrl}; control planes {string.Join(", ", urls)}; leader lease {lease}; {rounds} rounds");

    var measured = new List<double>();
    for (var round = 1; round <= rounds; round++)
    {
        leader = await AgreedLeaderAsync();
        var survivors = urls.Where(u => u != leader.Leader).ToList();
        var stopwatch = Stopwatch.StartNew();
        controlPlanes[leader.Leader].Kill();
        string? servedBy = null;
        while (servedBy is null)
        {
            foreach (var url in survivors)
            {
                try
                {
                    using var response = await http.GetAsync(url + "/v1/status");
                    if (response.StatusCode == HttpStatusCode.OK && response.Headers.TryGetValues("X-VirtualCluster-Served-By", out var by)
                        && by.First() != leader.Leader)
                    {
                        servedBy = by.First();
                        break;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                }
            }
            if (servedBy is null) await Task.Delay(20);
        }
        stopwatch.Stop();
        measured.Add(stopwatch.Elapsed.TotalSeconds);
        Console.WriteLine($"round {round}: killed {leader.Leader}, {servedBy} served the API after {stopwatch.Elapsed.TotalSeconds:0.000} s");
        await controlPlanes[leader.Leader].WaitForExitAsync();
        controlPlanes[leader.Leader] = StartControlPlane(leader.Leader, etcdUrl);
        await UntilAsync(async () => await LeaderOfAsync(leader.Leader) is not null, "the restarted control plane");
    }

    measured.Sort();
    var median = measured.Count % 2 == 1 ? measured[measured.Count / 2] : (measured[measured.Count / 2 - 1] + measured[measured.Count / 2]) / 2;
    Console.WriteLine($"failover (kill -9 of the leader to a new leader serving the API), {measured.Count} rounds, leader lease {lease}: " +
        $"median {median:0.00} s, min {measured[0]:0.00} s, max {measured[^1]:0.00} s");
    return 0;
}
finally
{
    foreach (var process in processes)
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
    }
    try { Directory.Delete(work, recursive: true); } catch (IOException) { }
}

Process StartControlPlane(string url, string etcdUrl)
{
    var dir = Path.Combine(work, $"cp-{urls.IndexOf(url) + 1}");
    return Start("dotnet", [host, "control-plane", "--membership", "etcd", "--etcd-endpoints", etcdUrl, "--data-dir", dir, "--listen", url, "--leader-lease", lease],
        dir + ".log");
}

Process Start(string file, string[] arguments, string log)
{
    var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false, WorkingDirectory = root };
    foreach (var a in arguments) info.ArgumentList.Add(a);
    var process = Process.Start(info)!;
    var writer = new StreamWriter(log, append: true) { AutoFlush = true };
    process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (writer) writer.WriteLine(e.Data); };
    process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (writer) writer.WriteLine(e.Data); };
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    processes.Add(process);
    return process;
}

async Task<(string Leader, long Token)?> LeaderOfAsync(string url)
{
    try
    {
        using var document = JsonDocument.Parse(await http.GetStringAsync(url + "/v1/leader"));
        var leader = document.RootElement.GetProperty("leader");
        return leader.ValueKind == JsonValueKind.String ? (leader.GetString()!, document.RootElement.GetProperty("token").GetInt64()) : null;
    }
    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
    {
        return null;
    }
}

async Task<(string Leader, long Token)> AgreedLeaderAsync()
{
    (string Leader, long Token) agreed = default;
    await UntilAsync(async () =>
    {
        var views = await Task.WhenAll(controlPlanes.Keys.Select(LeaderOfAsync));
        if (views.Any(v => v is null) || views.Select(v => v!.Value.Leader).Distinct().Count() != 1) return false;
        agreed = views[0]!.Value;
        return true;
    }, "all control planes to agree on a leader");
    return agreed;
}

async Task UntilAsync(Func<Task<bool>> condition, string what)
{
    var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
    while (DateTime.UtcNow < deadline)
    {
        try
        {
            if (await condition()) return;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
        }
        await Task.Delay(100);
    }
    throw new TimeoutException($"timed out waiting for {what}; logs in {work}");
}

static int FreePort()
{
    var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    var port = ((IPEndPoint)listener.LocalEndpoint).Port;
    listener.Stop();
    return port;
}

static string FindRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "VirtualCluster.Sdk.sln"))) return dir.FullName;
    throw new InvalidOperationException("cannot find VirtualCluster.Sdk.sln");
}
