using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.ControlPlane.Store;
using VirtualCluster.Membership;
using VirtualCluster.Scheduling;

// Control-plane core throughput through the real code path (ClusterService on the embedded store). See README.md.
// "monitoring": what the history and the alert rules cost the control plane (MonitoringCost.cs).
if (args.Length > 0 && args[0] == "monitoring") return await MonitoringCost.RunAsync(args);
var sizes = new[] { 100, 1_000, 10_000 };
var perNode = 3;
for (var i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--nodes") sizes = args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
    else if (args[i] == "--instances-per-node") perNode = int.Parse(args[++i], CultureInfo.InvariantCulture);
}

Console.WriteLine($"control-plane core benchmark: embedded store, pipeline scheduler, {perNode} instances per node, a zone of 10 % of the nodes lost");
var rows = new List<string>();
foreach (var n in sizes)
{
    var row = await ControlPlaneRun.RunAsync(n, perNode);
    rows.Add(row);
    Console.WriteLine(row);
}
Console.WriteLine();
Console.WriteLine("| nodes | instances | deploys/s | placements/s in deploys | heartbeats/s (one thread) | failover placements | failover placements/s | library placements/s (kept state) | control plane / library | plan conflicts | leader managed heap | leader working set | load average |");
Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
foreach (var row in rows) Console.WriteLine(row);
return 0;

internal static class ControlPlaneRun
{
    private const long Mi = 1L << 20;
    private const long Gi = 1L << 30;

    public static async Task<string> RunAsync(int nodes, int perNode)
    {
        var dir = Directory.CreateTempSubdirectory("vc-cpcore-bench-").FullName;
        try
        {
            await using var state = await EmbeddedClusterState.OpenAsync(dir);
            var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
            var detector = new ZoneDetector();
            var options = new ControlPlaneOptions { DataDirectory = dir };
            var cluster = new ClusterService(state.Store, new PipelineScheduler(), detector, time, Microsoft.Extensions.Options.Options.Create(options),
                NullLogger<ClusterService>.Instance);

            // Nodes: ten zones, room for about ten instances each, 200 host ports.
            var ids = new List<string>(nodes);
            var zoneOf = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < nodes; i++)
            {
                var zone = i % 10;
                var joined = await cluster.JoinAsync(new JoinRequest("bench", $"node-{i:D5}", $"10.{zone}.{i / 250 % 250}.{i % 250 + 1}",
                    new Resources(8000, 32 * Gi, 200 * Gi), ["process"], new PortRange(20000, 20199), new Dictionary<string, string> { ["zone"] = $"z{zone}" }), default);
                if (joined.Value is null) throw new InvalidOperationException(joined.Error?.Error);
                ids.Add(joined.Value.Id);
                zoneOf[joined.Value.Id] = zone;
            }

            // Deploys: services of 1, 3 and 10 replicas with a port each, until the nodes hold perNode instances on average.
            var target = nodes * perNode;
            var deployed = 0;
            var services = 0;
            var replicasCycle = new[] { 1, 3, 10 };
            var deployClock = Stopwatch.StartNew();
            while (deployed < target)
            {
                var replicas = Math.Min(replicasCycle[services % 3], target - deployed);
                var memory = 256 * (1 + services % 4);
                var cpu = 100 * (1 + services % 5);
                var spec = $$"""{ "name": "svc-{{services:D5}}", "command": "app", "replicas": {{replicas}}, "resources": { "cpu": "{{cpu}}m", "memory": "{{memory}}Mi" }, "ports": [ { "name": "http" } ] }""";
                var outcome = await cluster.DeployAsync(spec, default);
                if (outcome.StatusCode != 201) throw new InvalidOperationException($"deploy {services}: {outcome.StatusCode} {outcome.Error?.Error}");
                deployed += replicas;
                services++;
            }
            deployClock.Stop();

            // Heartbeats: every agent reports its instances; the first round starts them (state changes are written),
            // the second is the steady state the leader absorbs.
            var mine = (await state.Store.ListInstancesAsync()).ToLookup(i => i.NodeId, StringComparer.Ordinal);
            await HeartbeatRoundAsync(cluster, ids, mine, time);
            var beatClock = Stopwatch.StartNew();
            var beats = await HeartbeatRoundAsync(cluster, ids, mine, time);
            beatClock.Stop();
            await cluster.ReconcileOnceAsync(default); // first look at every node, so the loss below is a change

            GC.Collect();
            GC.WaitForPendingFinalizers();
            var heap = GC.GetTotalMemory(forceFullCollection: true);
            var workingSet = Environment.WorkingSet;

            // The zone lost: every node of zone 0 is down at once.
            var lost = ids.Where(id => zoneOf[id] == 0).ToList();
            foreach (var id in lost) detector.Down(id);
            var toReplace = lost.Sum(id => mine[id].Count());

            // Reference: the library placing the same instances one by one on a kept state of the same cluster.
            var library = await LibraryRateAsync(state.Store, detector, mine, lost);

            time.Advance(TimeSpan.FromSeconds(1));
            var conflictsBefore = cluster.PlanConflicts;
            var failoverClock = Stopwatch.StartNew();
            for (var pass = 0; pass < 20; pass++)
            {
                var passStart = failoverClock.Elapsed;
                await cluster.ReconcileOnceAsync(default);
                failoverClock.Stop();
                if (Environment.GetEnvironmentVariable("VC_BENCH_PASSES") is not null) Console.Error.WriteLine($"pass {pass}: {(failoverClock.Elapsed - passStart).TotalMilliseconds:F1} ms, ended at monotonic {Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency:F6} s");
                var placedOff = (await state.Store.ListInstancesAsync()).Count(i => !i.IsTerminal && i.State != InstanceState.Unknown && !lost.Contains(i.NodeId));
                if (placedOff >= deployed) break;
                failoverClock.Start();
                time.Advance(TimeSpan.FromSeconds(1));
            }
            failoverClock.Stop();
            var remaining = (await state.Store.ListInstancesAsync()).Count(i => !i.IsTerminal && lost.Contains(i.NodeId));
            if (remaining > 0) throw new InvalidOperationException($"{remaining} instances were not replaced");

            var failoverRate = toReplace / failoverClock.Elapsed.TotalSeconds;
            var load = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
            return string.Create(CultureInfo.InvariantCulture,
                $"| {nodes:N0} | {deployed:N0} | {services / deployClock.Elapsed.TotalSeconds:N0} | {deployed / deployClock.Elapsed.TotalSeconds:N0} | {beats / beatClock.Elapsed.TotalSeconds:N0} | {toReplace:N0} | {failoverRate:N0} | {library:N0} | {failoverRate / library:P0} | {cluster.PlanConflicts - conflictsBefore} | {heap / (double)Mi:N0} MiB | {workingSet / (double)Mi:N0} MiB | {load} |");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task<int> HeartbeatRoundAsync(ClusterService cluster, List<string> ids, ILookup<string, ServiceInstance> mine, FakeTimeProvider time)
    {
        time.Advance(TimeSpan.FromMilliseconds(500));
        foreach (var id in ids)
        {
            var reports = mine[id].Select(i => new InstanceReport(i.Id, i.Epoch, InstanceState.Running, "", 0, 1000, [])).ToList();
            var outcome = await cluster.HeartbeatAsync(id, new HeartbeatRequest(new ResourceUsage(500, 4 * Gi, 10 * Gi), default, ["process"], reports, null), default);
            if (outcome.StatusCode != 200) throw new InvalidOperationException(outcome.Error?.Error);
        }
        return ids.Count;
    }

    /// <summary>Placements per second of <see cref="PipelineScheduler"/> on a kept <see cref="ClusterState"/> of the same cluster with the zone down.</summary>
    private static async Task<double> LibraryRateAsync(VirtualCluster.Store.IClusterStore store, ZoneDetector detector, ILookup<string, ServiceInstance> mine, List<string> lost)
    {
        var services = (await store.ListServicesAsync()).ToDictionary(s => s.Spec.Name, StringComparer.Ordinal);
        var candidates = new List<NodeCandidate>();
        foreach (var node in await store.ListNodesAsync())
        {
            var here = mine[node.Id].ToList();
            var allocated = here.Aggregate(Resources.Zero, (sum, i) => sum + services[i.Service].Spec.Resources);
            candidates.Add(new NodeCandidate(node with { State = detector.GetState(node.Id) }, allocated,
                here.SelectMany(i => i.Ports.Values).ToHashSet(), here.Select(i => i.Service).ToList()));
        }
        var scheduler = new PipelineScheduler();
        var specs = lost.SelectMany(id => mine[id]).Select(i => services[i.Service].Spec).ToList();
        // Several rounds on a fresh kept state each (a few hundred placements take a millisecond or two, where one
        // round's timing is mostly JIT and cache warm-up); the median round is the reference.
        var rates = new List<double>();
        var total = Stopwatch.StartNew();
        while (rates.Count < 5 || (rates.Count < 50 && total.Elapsed < TimeSpan.FromSeconds(2)))
        {
            var kept = scheduler.CreateState(candidates);
            var clock = Stopwatch.StartNew();
            foreach (var spec in specs)
            {
                var result = scheduler.Place(kept, spec, 1);
                if (!result.Succeeded) throw new InvalidOperationException(result.Failure!.Message);
            }
            rates.Add(specs.Count / clock.Elapsed.TotalSeconds);
        }
        rates.Sort();
        return rates[rates.Count / 2];
    }
}

/// <summary>A failure detector the benchmark sets: every node alive until it is declared down (no timing races).</summary>
internal sealed class ZoneDetector : IFailureDetector
{
    private readonly HashSet<string> _down = new(StringComparer.Ordinal);

    public void Down(string nodeId)
    {
        lock (_down) _down.Add(nodeId);
    }

    private bool IsDown(string nodeId)
    {
        lock (_down) return _down.Contains(nodeId);
    }

    public void Heartbeat(string nodeId)
    {
    }

    public NodeState GetState(string nodeId) => IsDown(nodeId) ? NodeState.Down : NodeState.Alive;

    public NodeLiveness Inspect(string nodeId) => IsDown(nodeId)
        ? new NodeLiveness(NodeState.Down, double.PositiveInfinity, TimeSpan.FromHours(1))
        : new NodeLiveness(NodeState.Alive, 0, TimeSpan.Zero);

    public void Leave(string nodeId)
    {
    }

    public void Remove(string nodeId)
    {
    }
}
