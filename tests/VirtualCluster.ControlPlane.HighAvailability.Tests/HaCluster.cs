using System.Net.Http.Json;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.HighAvailability;
using VirtualCluster.IntegrationTests.Infrastructure;
using VirtualCluster.Membership.Etcd;
using VirtualCluster.Membership.Etcd.Tests;
using VirtualCluster.Membership.Members;

namespace VirtualCluster.ControlPlane.HighAvailability.Tests;

/// <summary>
/// A highly available cluster of real processes: a real etcd on free ports, three `control-plane --membership etcd`
/// processes and agents that find the control planes through etcd. Disposing kills every process it started,
/// including workloads of agents that were killed (found by pid and checked to be HelloService first).
/// </summary>
public sealed class HaCluster : IAsyncDisposable
{
    public static readonly TimeSpan LeaderLease = TimeSpan.FromSeconds(3);
    private readonly EtcdServer _etcd = new();
    private readonly List<TestProcess> _processes = [];
    private readonly HashSet<int> _workloadPids = [];

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("vc-ha-").FullName;
    internal Dictionary<string, TestProcess> ControlPlanes { get; } = new();
    internal Dictionary<string, TestProcess> Agents { get; } = new();
    public string AdminToken { get; private set; } = "";
    public string EtcdUrl => _etcd.ClientUrl;

    /// <param name="controlPlaneArgs">Extra flags for every control plane, e.g. a longer --fencing-lease.</param>
    public static async Task<HaCluster> StartAsync(int agents, IEnumerable<string>? controlPlaneArgs = null)
    {
        var cluster = new HaCluster();
        try
        {
            await cluster.StartInternalAsync(agents, [.. controlPlaneArgs ?? []]);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private async Task StartInternalAsync(int agents, string[] controlPlaneArgs)
    {
        await _etcd.InitializeAsync();
        for (var i = 1; i <= 3; i++)
        {
            var url = $"http://127.0.0.1:{Wait.FreePort()}";
            ControlPlanes[url] = Start(RepoPaths.HostDll,
            [
                "control-plane", "--membership", "etcd", "--etcd-endpoints", EtcdUrl, "--data-dir", Path.Combine(Directory, $"cp-{i}"),
                "--listen", url, "--leader-lease", $"{LeaderLease.TotalSeconds}s", .. controlPlaneArgs,
            ]);
        }
        var leader = await WaitForLeaderAsync(null, TimeSpan.FromSeconds(120));
        // Agents find the control planes through their registrations in etcd.
        using (var store = new EtcdKeyValueStore(new EtcdMembershipOptions { Endpoints = [EtcdUrl] }))
        {
            var members = new KvMembership(store);
            await Wait.UntilAsync(async () => (await members.ListAsync()).Members.Count(m => m.Metadata.GetValueOrDefault("role") == "control-plane") == 3,
                TimeSpan.FromSeconds(60), "three control planes registered in etcd");
        }
        var tokenFile = Path.Combine(Directory, "cp-1", "admin.token");
        await Wait.UntilAsync(() => Task.FromResult(File.Exists(tokenFile)), TimeSpan.FromSeconds(60), tokenFile);
        AdminToken = (await File.ReadAllTextAsync(tokenFile)).Trim();
        var servicePorts = FreePortBlock(100 * agents);
        for (var i = 1; i <= agents; i++)
        {
            var first = servicePorts + (i - 1) * 100;
            Agents[$"node-{i}"] = Start(RepoPaths.HostDll,
            [
                "agent", "--membership", "etcd", "--etcd-endpoints", EtcdUrl, "--join-token-file", Path.Combine(Directory, "cp-1", "join.token"),
                "--name", $"node-{i}", "--data-dir", Path.Combine(Directory, $"node-{i}"), "--ports", $"{first}-{first + 99}",
            ]);
        }
        using var api = Api(leader.Leader!);
        await Wait.UntilAsync(async () => (await api.StatusAsync()).Nodes.Count(n => n.Node.State == NodeState.Alive) == agents,
            TimeSpan.FromSeconds(120), $"{agents} agents to join");
    }

    /// <summary>
    /// The first port of <paramref name="count"/> consecutive loopback ports that are all free now, so the agents'
    /// service ports do not collide with other test runs sharing this machine.
    /// </summary>
    private static int FreePortBlock(int count)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var first = Random.Shared.Next(20_000, 60_000 - count);
            var listeners = new List<System.Net.Sockets.TcpListener>();
            try
            {
                for (var port = first; port < first + count; port++)
                {
                    var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                    listener.Start();
                    listeners.Add(listener);
                }
                return first;
            }
            catch (System.Net.Sockets.SocketException)
            {
                // Something uses a port of this block; try another.
            }
            finally
            {
                foreach (var listener in listeners) listener.Stop();
            }
        }
        throw new InvalidOperationException($"found no {count} consecutive free ports");
    }

    private TestProcess Start(string dll, string[] args)
    {
        var process = TestProcess.StartDotnet(dll, args);
        _processes.Add(process);
        return process;
    }

    internal ApiClient Api(string url) => new(url, AdminToken);

    public IEnumerable<string> LiveControlPlanes => ControlPlanes.Where(cp => !cp.Value.HasExited).Select(cp => cp.Key);

    public Dictionary<string, string> CliEnv(string server) => new()
    {
        ["VCLUSTER_SERVER"] = server, ["VCLUSTER_TOKEN"] = AdminToken, ["VCLUSTER_CONFIG"] = Path.Combine(Directory, "no-config.json"), ["NO_COLOR"] = "1",
    };

    /// <summary>What a control plane says about the leader, or null when it does not answer.</summary>
    public static async Task<LeaderView?> LeaderViewAsync(string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            return await http.GetFromJsonAsync<LeaderView>(url + "/v1/leader", VirtualClusterJson.Options);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Waits until every live control plane names the same leader, that leader says it leads, and its token is
    /// greater than <paramref name="after"/>'s (when given). Returns the leader's own view.
    /// </summary>
    public async Task<LeaderView> WaitForLeaderAsync(LeaderView? after, TimeSpan timeout)
    {
        LeaderView? agreed = null;
        await Wait.UntilAsync(async () =>
        {
            var views = await Task.WhenAll(LiveControlPlanes.Select(LeaderViewAsync));
            if (views.Any(v => v?.Leader is null)) return false;
            var leader = views[0]!.Leader!;
            if (views.Any(v => v!.Leader != leader) || (after is not null && (views[0]!.Token <= after.Token || leader == after.Leader))) return false;
            agreed = views.FirstOrDefault(v => v!.Self == leader && v.IsLeader);
            return agreed is not null;
        }, timeout, after is null ? "a leader" : $"a new leader after {after.Leader}");
        return agreed!;
    }

    /// <summary>kill -9 of a control plane.</summary>
    public async Task KillControlPlaneAsync(string url)
    {
        ControlPlanes[url].Signal(9);
        await ControlPlanes[url].WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>kill -9 of an agent and of its workloads: the whole machine dies.</summary>
    public async Task KillMachineAsync(string node, IEnumerable<int> workloadPids)
    {
        Agents[node].Signal(9);
        foreach (var pid in workloadPids) KillWorkload(pid);
        await Agents[node].WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Remembers workloads to kill at the end, in case their agent is killed first.</summary>
    public void TrackWorkloads(IEnumerable<int> pids)
    {
        lock (_workloadPids) _workloadPids.UnionWith(pids);
    }

    private static void KillWorkload(int pid)
    {
        try
        {
            if (File.ReadAllText($"/proc/{pid}/cmdline").Contains("HelloService", StringComparison.Ordinal)) Native.Kill(pid, 9);
        }
        catch (IOException)
        {
            // Already gone.
        }
    }

    public string Logs()
    {
        var text = new System.Text.StringBuilder();
        foreach (var (url, process) in ControlPlanes) text.AppendLine($"--- control plane {url} (exited: {process.HasExited})").AppendLine(Tail(process.Output));
        foreach (var (name, process) in Agents) text.AppendLine($"--- agent {name} (exited: {process.HasExited})").AppendLine(Tail(process.Output));
        return text.ToString();
    }

    private static string Tail(string output) => string.Join('\n', output.Split('\n').TakeLast(25));

    public async ValueTask DisposeAsync()
    {
        // Agents first, gracefully, so they stop their workloads; then whatever is left.
        foreach (var agent in Agents.Values.Where(a => !a.HasExited)) agent.Signal(15);
        foreach (var agent in Agents.Values)
        {
            try { await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)); } catch (Xunit.Sdk.XunitException) { }
        }
        foreach (var process in Enumerable.Reverse(_processes)) process.Dispose();
        lock (_workloadPids)
        {
            foreach (var pid in _workloadPids) KillWorkload(pid);
        }
        await _etcd.DisposeAsync();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
