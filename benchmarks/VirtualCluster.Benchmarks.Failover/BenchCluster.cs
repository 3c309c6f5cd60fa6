using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using VirtualCluster.Api;

namespace VirtualCluster.Benchmarks.Failover;

/// <summary>
/// A control plane and agents as separate processes on loopback, as in production, with their output in log files
/// under a temp directory. Disposing kills every process tree it started.
/// </summary>
internal sealed partial class BenchCluster : IAsyncDisposable
{
    private readonly List<Process> _processes = [];
    private readonly Dictionary<string, (Process Process, string[] Args)> _agents = new(StringComparer.Ordinal);
    private readonly string _hostDll;

    private BenchCluster(string directory, string url, string hostDll)
    {
        Directory = directory;
        Url = url;
        _hostDll = hostDll;
    }

    public string Directory { get; }
    public string Url { get; }
    public HttpClient Api { get; } = new() { Timeout = TimeSpan.FromSeconds(5) };

    public static async Task<BenchCluster> StartAsync(string hostDll, int agents)
    {
        var port = FreePort();
        var cluster = new BenchCluster(System.IO.Directory.CreateTempSubdirectory("vc-bench-").FullName, $"http://127.0.0.1:{port}", hostDll);
        cluster.Api.BaseAddress = new Uri(cluster.Url);
        try
        {
            var cp = Path.Combine(cluster.Directory, "cp");
            cluster.Start("control-plane", ["control-plane", "--data-dir", cp, "--listen", cluster.Url]);
            await UntilAsync(() => Task.FromResult(File.Exists(Path.Combine(cp, "admin.token"))), TimeSpan.FromSeconds(60), "the control plane's token");
            var token = (await File.ReadAllTextAsync(Path.Combine(cp, "admin.token"))).Trim();
            cluster.Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            var first = 24000; // below the ephemeral range, so no outgoing connection holds a service port
            for (var i = 1; i <= agents; i++)
            {
                var name = $"node-{i}";
                var from = first + (i - 1) * 1000;
                cluster.StartAgent(name,
                [
                    "agent", "--server", cluster.Url, "--join-token-file", Path.Combine(cp, "join.token"), "--name", name,
                    "--data-dir", Path.Combine(cluster.Directory, name), "--ports", $"{from}-{from + 999}",
                ]);
            }
            await cluster.WaitAliveAsync(agents, TimeSpan.FromSeconds(90));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private void StartAgent(string name, string[] args) => _agents[name] = (Start(name, args), args);

    private Process Start(string name, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(_hostDll);
        foreach (var a in args) info.ArgumentList.Add(a);
        var log = new StreamWriter(Path.Combine(Directory, name + ".log"), append: true) { AutoFlush = true };
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes.Add(process);
        return process;
    }

    public async Task<ClusterStatus> StatusAsync() => (await Api.GetFromJsonAsync<ClusterStatus>("/v1/status", VirtualClusterJson.Options))!;

    public async Task<ServiceView?> ServiceAsync(string name)
    {
        using var response = await Api.GetAsync($"/v1/services/{name}");
        return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<ServiceView>(VirtualClusterJson.Options) : null;
    }

    public async Task<List<ClusterEvent>> EventsAsync(string query) =>
        await Api.GetFromJsonAsync<List<ClusterEvent>>($"/v1/events?limit=5000&{query}", VirtualClusterJson.Options) ?? [];

    public async Task WaitAliveAsync(int count, TimeSpan timeout) =>
        await UntilAsync(async () => (await StatusAsync()).Nodes.Count(n => n.Node.State == NodeState.Alive) >= count, timeout, $"{count} alive nodes");

    public async Task DeployAsync(string spec)
    {
        using var response = await Api.PostAsync("/v1/services", new StringContent(spec, System.Text.Encoding.UTF8, "application/json"));
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"deploy failed ({(int)response.StatusCode}): {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>
    /// A machine dies: its agent and everything under it are frozen, then SIGKILLed; its containers (children of
    /// the Docker daemon, not of the agent) are killed too.
    /// </summary>
    public async Task KillMachineAsync(string node)
    {
        var root = _agents[node].Process.Id;
        var tree = Descendants(root).Prepend(root).ToList();
        foreach (var pid in tree) Kill(pid, 19);
        foreach (var pid in tree.Union(Descendants(root))) Kill(pid, 9);
        await DockerAsync("kill", $"label=io.virtualcluster.node={node}");
    }

    /// <summary>Runs `docker {verb}` on this cluster's containers matching <paramref name="filter"/>, if Docker is here.</summary>
    private async Task DockerAsync(string verb, string? filter = null)
    {
        var ids = await RunAsync("docker", ["ps", "-aq", "--filter", $"label=io.virtualcluster.cluster={Url}", .. filter is null ? Array.Empty<string>() : ["--filter", filter]]);
        var list = ids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (list.Length > 0) await RunAsync("docker", [.. verb.Split(' '), .. list]);
    }

    private static async Task<string> RunAsync(string file, string[] args)
    {
        try
        {
            var info = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in args) info.ArgumentList.Add(a);
            using var process = Process.Start(info)!;
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            return output;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return ""; // no docker CLI: no containers either
        }
    }

    /// <summary>The machine is back: its agent starts again with the same name and data directory.</summary>
    public void RestartAgent(string node) => StartAgent(node, _agents[node].Args);

    public async ValueTask DisposeAsync()
    {
        foreach (var process in Enumerable.Reverse(_processes))
        {
            try
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException) { }
            process.Dispose();
        }
        await DockerAsync("rm -f");
        await Task.Delay(200);
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
        Api.Dispose();
    }

    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition()) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException) { }
            await Task.Delay(50);
        }
        throw new TimeoutException($"timed out after {timeout.TotalSeconds} s waiting for {what}");
    }

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static List<int> Descendants(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var dir in System.IO.Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
                if (!children.TryGetValue(parent, out var list)) children[parent] = list = [];
                list.Add(pid);
            }
            catch (Exception e) when (e is IOException or FormatException) { }
        }
        var result = new List<int>();
        var queue = new Queue<int>([root]);
        while (queue.Count > 0)
            foreach (var child in children.GetValueOrDefault(queue.Dequeue()) ?? [])
            {
                result.Add(child);
                queue.Enqueue(child);
            }
        return result;
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
