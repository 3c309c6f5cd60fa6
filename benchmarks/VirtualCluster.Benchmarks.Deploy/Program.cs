using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using VirtualCluster;
using VirtualCluster.Api;

// Time from an accepted deploy (the API's 201) to a Running instance, per driver, against a real local cluster
// (`VirtualCluster.Host.Console local`, one agent). Images must be local: run scripts/install-deps.sh first.
// Usage: dotnet run -c Release --project benchmarks/VirtualCluster.Benchmarks.Deploy -- [--runs 10] [--output docs/benchmarks.md]
const string DeploySection = "## Deploy to running";
var runs = 10;
string? output = null;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--runs" && i + 1 < args.Length) runs = int.Parse(args[++i], CultureInfo.InvariantCulture);
    else if (args[i] == "--output" && i + 1 < args.Length) output = args[++i];
    else { Console.Error.WriteLine($"unknown argument {args[i]}; use --runs N and --output FILE"); return 2; }
}

var root = FindRoot();
var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Name;
var hostDll = Path.Combine(root, "artifacts", "bin", "VirtualCluster.Host.Console", configuration, "VirtualCluster.Host.Console.dll");
var helloDll = Path.Combine(root, "artifacts", "bin", "HelloService", configuration, "HelloService.dll");
var dataDir = Directory.CreateTempSubdirectory("vc-bench-").FullName;
var port = FreePort();
var url = $"https://127.0.0.1:{port}"; // local serves the API over https with the cluster CA

var info = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
foreach (var a in new[] { hostDll, "local", "--data-dir", dataDir, "--port", port.ToString(CultureInfo.InvariantCulture), "--agents", "1", "--service-ports", "47000" })
    info.ArgumentList.Add(a);
info.Environment["VCLUSTER_CONFIG"] = Path.Combine(dataDir, "cli.json");
using var cluster = Process.Start(info)!;
var ready = new TaskCompletionSource();
cluster.OutputDataReceived += (_, e) => { if (e.Data?.Contains("local cluster ready", StringComparison.Ordinal) == true) ready.TrySetResult(); };
cluster.BeginOutputReadLine();
cluster.BeginErrorReadLine();
try
{
    await ready.Task.WaitAsync(TimeSpan.FromMinutes(2));
    var fingerprint = (await File.ReadAllTextAsync(Path.Combine(dataDir, "control-plane", "ca.fingerprint"))).Trim();
    using var http = new HttpClient(VirtualCluster.Security.Tls.PinnedHttp.CreateHandler(fingerprint)) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };
    var token = (await File.ReadAllTextAsync(Path.Combine(dataDir, "control-plane", "admin.token"))).Trim();
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    var drivers = (await http.GetFromJsonAsync<List<NodeView>>("/v1/nodes", VirtualClusterJson.Options))!.SelectMany(n => n.Node.Drivers).ToHashSet();

    var cases = new List<(string Driver, string What, Func<int, string> Spec)>
    {
        ("process", "HelloService (dotnet), HTTP health check", n => $$"""
            { "name": "bench-proc-{{n}}", "command": "dotnet", "args": ["{{helloDll}}"], "resources": { "cpu": "100m", "memory": "64Mi" },
              "ports": [{ "name": "http" }], "healthCheck": { "type": "http", "port": "http", "path": "/health" } }
            """),
        ("docker", "busybox httpd (vc/busybox:test, local image), HTTP health check", n => $$"""
            { "name": "bench-docker-{{n}}", "driver": "docker", "image": "vc/busybox:test", "command": "/bin/httpd",
              "args": ["-f", "-p", "8080", "-h", "/www"], "resources": { "cpu": "100m", "memory": "32Mi" },
              "ports": [{ "name": "http", "containerPort": 8080 }], "healthCheck": { "type": "http", "port": "http", "path": "/" } }
            """),
    };
    var results = new List<(string Driver, string What, List<double> Seconds)>();
    foreach (var (driver, what, spec) in cases)
    {
        if (!drivers.Contains(driver)) { Console.Error.WriteLine($"skipping {driver}: no agent offers it (is dockerd running?)"); continue; }
        var times = new List<double>();
        for (var n = 1; n <= runs; n++)
        {
            var seconds = await DeployOnceAsync(http, spec(n), $"bench-{(driver == "process" ? "proc" : driver)}-{n}");
            times.Add(seconds);
            Console.WriteLine($"{driver} run {n}: {seconds:0.000} s");
        }
        results.Add((driver, what, times));
    }

    var report = Report(results, runs);
    Console.WriteLine(report);
    if (output is not null) await WriteSectionAsync(Path.Combine(root, output), report);
    return 0;
}
finally
{
    // Like Ctrl+C: `local` stops its agents, which stop their workloads (containers included).
    using (var term = Process.Start("kill", ["-TERM", cluster.Id.ToString(CultureInfo.InvariantCulture)])) await term.WaitForExitAsync();
    await cluster.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1)).ContinueWith(_ => { }, TaskScheduler.Default);
    if (!cluster.HasExited) cluster.Kill(entireProcessTree: true);
    try { Directory.Delete(dataDir, recursive: true); } catch (IOException) { }
}

static async Task<double> DeployOnceAsync(HttpClient http, string spec, string name)
{
    using var body = new StringContent(spec, Encoding.UTF8, "application/json");
    using var response = await http.PostAsync("/v1/services", body);
    if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"deploy of {name} refused: {await response.Content.ReadAsStringAsync()}");
    // The clock starts once the control plane has accepted (stored and placed) the service.
    var accepted = Stopwatch.StartNew();
    var deadline = TimeSpan.FromSeconds(60);
    while (true)
    {
        var view = await http.GetFromJsonAsync<ServiceView>($"/v1/services/{name}", VirtualClusterJson.Options);
        if (view is { Running: > 0 } && view.Running == view.Desired) break;
        if (view?.Instances.FirstOrDefault(i => i.Instance.State == InstanceState.Failed) is { } failed)
            throw new InvalidOperationException($"{name} failed: {failed.Instance.Reason}");
        if (accepted.Elapsed > deadline) throw new TimeoutException($"{name} not running after {deadline}");
        await Task.Delay(10);
    }
    var seconds = accepted.Elapsed.TotalSeconds;
    (await http.DeleteAsync($"/v1/services/{name}")).EnsureSuccessStatusCode();
    // Let the agent stop it before the next run, so runs do not overlap.
    var stopped = Stopwatch.StartNew();
    while (stopped.Elapsed < TimeSpan.FromSeconds(30))
    {
        var status = await http.GetFromJsonAsync<ClusterStatus>("/v1/status", VirtualClusterJson.Options);
        if (status!.Nodes.All(n => n.Instances == 0)) break;
        await Task.Delay(50);
    }
    return seconds;
}

static string Report(List<(string Driver, string What, List<double> Seconds)> results, int runs)
{
    var text = new StringBuilder();
    text.AppendLine(DeploySection);
    text.AppendLine();
    text.AppendLine("Time from an accepted deploy (`POST /v1/services` answered 201) to the instance being Running (started and its");
    text.AppendLine($"health check passed), polled every 10 ms through the API. One agent of a `local` cluster, {runs} deploys per driver,");
    text.AppendLine("each removed (and stopped) before the next. The agent heartbeats every 500 ms and receives assignments in the");
    text.AppendLine("answer; it starts and probes them apart from the heartbeat (every 250 ms) and reports Running with the next");
    text.AppendLine("heartbeat. So up to one heartbeat interval plus one supervision pass (0.75 s) of each figure is the agent's");
    text.AppendLine("loop, not the driver.");
    text.AppendLine();
    text.AppendLine("| driver | workload | median | min | max |");
    text.AppendLine("|---|---|---|---|---|");
    foreach (var (driver, what, seconds) in results)
    {
        var sorted = seconds.Order().ToList();
        var median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
        text.AppendLine(CultureInfo.InvariantCulture, $"| {driver} | {what} | {median:0.00} s | {sorted[0]:0.00} s | {sorted[^1]:0.00} s |");
    }
    text.AppendLine();
    text.AppendLine(CultureInfo.InvariantCulture, $"Measured {DateTime.UtcNow:yyyy-MM-dd} on {Environment.ProcessorCount} cores ({System.Runtime.InteropServices.RuntimeInformation.OSDescription}), Docker with the vfs storage driver.");
    text.AppendLine("Run it again with `scripts/install-deps.sh && dotnet run -c Release --project benchmarks/VirtualCluster.Benchmarks.Deploy -- --runs 10 --output docs/benchmarks.md`");
    text.AppendLine("(not part of `./test.sh`).");
    return text.ToString();
}

// Replaces only this benchmark's section of the file (from its heading to the next "## "), keeping every other one.
static async Task WriteSectionAsync(string path, string section)
{
    var text = File.Exists(path) ? await File.ReadAllTextAsync(path) : "# Benchmarks\n\n";
    var start = text.IndexOf(DeploySection + "\n", StringComparison.Ordinal);
    if (start < 0)
    {
        await File.WriteAllTextAsync(path, text.TrimEnd('\n') + "\n\n" + section);
        return;
    }
    var next = text.IndexOf("\n## ", start + DeploySection.Length, StringComparison.Ordinal);
    var rest = next < 0 ? "" : text[(next + 1)..];
    await File.WriteAllTextAsync(path, text[..start] + section + (rest.Length > 0 ? "\n" + rest : ""));
}

static string FindRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "VirtualCluster.Sdk.sln"))) return dir.FullName;
    throw new InvalidOperationException("cannot find VirtualCluster.Sdk.sln above " + AppContext.BaseDirectory);
}

static int FreePort()
{
    var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
    listener.Start();
    var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    listener.Stop();
    return port;
}
