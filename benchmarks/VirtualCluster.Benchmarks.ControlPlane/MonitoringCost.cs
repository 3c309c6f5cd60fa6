using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane;
using VirtualCluster.ControlPlane.Alerts;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.ControlPlane.History;
using VirtualCluster.ControlPlane.Store;
using VirtualCluster.Monitoring.Alerts;
using VirtualCluster.Monitoring.History;
using VirtualCluster.Scheduling;

/// <summary>
/// <c>monitoring [--nodes 1000] [--minutes 2] [--month-nodes 100]</c>: what monitoring costs the control plane (issue 18).
/// (1) CPU and managed heap of the leader's real code path absorbing every node's heartbeat every 500 ms, for some
/// minutes of virtual time, without monitoring and with the history sampler (every 10 s, flushes every 30 s) and the
/// alert rules (every 5 s, built-in and threshold rules), measured alternately in the same process; (2) the stored
/// history after a simulated month of a cluster of 100 nodes and 20 services (keys, bytes, SQLite file); (3) the
/// dashboard's transfer size.
/// </summary>
internal static class MonitoringCost
{
    private const long Gi = 1L << 30;

    public static async Task<int> RunAsync(string[] args)
    {
        int nodes = 1_000, monthNodes = 100;
        double minutes = 2;
        for (var i = 1; i < args.Length - 1; i++)
        {
            if (args[i] == "--nodes") nodes = int.Parse(args[++i], CultureInfo.InvariantCulture);
            else if (args[i] == "--minutes") minutes = double.Parse(args[++i], CultureInfo.InvariantCulture);
            else if (args[i] == "--month-nodes") monthNodes = int.Parse(args[++i], CultureInfo.InvariantCulture);
        }
        Console.WriteLine($"monitoring cost: {nodes} nodes heartbeating every 500 ms for {minutes} virtual minutes per run; load {Load()}");
        await HeartbeatCostAsync(nodes, minutes);
        Console.WriteLine();
        if (monthNodes > 0) await MonthAsync(monthNodes, services: 20); // --month-nodes 0 skips the month
        Console.WriteLine();
        DashboardSize();
        Console.WriteLine($"load at the end {Load()}");
        return 0;
    }

    private static async Task HeartbeatCostAsync(int nodes, double minutes)
    {
        var dir = Directory.CreateTempSubdirectory("vc-monitoring-bench-").FullName;
        try
        {
            await using var state = await EmbeddedClusterState.OpenAsync(dir);
            var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
            var cluster = new ClusterService(state.Store, new PipelineScheduler(), new ZoneDetector(), time,
                Options.Create(new ControlPlaneOptions { DataDirectory = dir }), NullLogger<ClusterService>.Instance);
            var ids = new List<string>(nodes);
            for (var i = 0; i < nodes; i++)
            {
                var joined = await cluster.JoinAsync(new JoinRequest("bench", $"node-{i:D5}", $"10.{i % 10}.{i / 250 % 250}.{i % 250 + 1}",
                    new Resources(8000, 32 * Gi, 200 * Gi), ["process"], new PortRange(20000, 20199), new Dictionary<string, string> { ["zone"] = $"z{i % 10}" }), default);
                ids.Add(joined.Value?.Id ?? throw new InvalidOperationException(joined.Error?.Error));
            }
            // One instance per node on average: services of 10 replicas, each with a port.
            for (var s = 0; s < nodes / 10; s++)
            {
                var outcome = await cluster.DeployAsync($$"""{ "name": "svc-{{s:D4}}", "command": "app", "replicas": 10, "resources": { "cpu": "200m", "memory": "256Mi" }, "ports": [ { "name": "http" } ] }""", default);
                if (outcome.StatusCode != 201) throw new InvalidOperationException($"deploy {s}: {outcome.StatusCode} {outcome.Error?.Error}");
            }
            var mine = (await state.Store.ListInstancesAsync()).ToLookup(i => i.NodeId, StringComparer.Ordinal);
            await RoundAsync(cluster, ids, mine, time);
            await cluster.ReconcileOnceAsync(default);
            if (cluster.HistoryFacts() is null) throw new InvalidOperationException("the benchmark's control plane does not lead: no history would be recorded");

            var history = new MetricsHistory(state.KeyValueStore, Options.Create(new HistoryOptions()), time, NullLogger<MetricsHistory>.Instance);
            var sampler = new HistorySampler(cluster, history, Options.Create(new HistoryOptions()), time, NullLogger<HistorySampler>.Instance);
            var notifier = new AlertNotifier(Options.Create(new AlertNotifierOptions()), time, NullLogger<AlertNotifier>.Instance);
            var evaluator = new AlertEvaluator(cluster, notifier, new AlertRuleSet(cluster, time), Options.Create(new AlertOptions()), time, NullLogger<AlertEvaluator>.Instance);

            var rows = new List<(bool Monitoring, double Cpu, double Wall, long Heap)>();
            var run = 0;
            foreach (var monitoring in new[] { false, false, true, false, true })
            {
                var warmUp = run++ == 0; // the first run compiles the heartbeat path: not counted
                GC.Collect();
                var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                var wall = Stopwatch.StartNew();
                var ticks = (int)(minutes * 60 * 2);
                for (var t = 1; t <= ticks; t++)
                {
                    await RoundAsync(cluster, ids, mine, time);
                    if (!monitoring) continue;
                    if (t % 10 == 0) await evaluator.EvaluateAsync(default); // every 5 s
                    if (t % 20 == 0) await sampler.SampleAsync(default);    // every 10 s (flushes every 30 s itself)
                }
                wall.Stop();
                var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
                if (!warmUp) rows.Add((monitoring, cpu, wall.Elapsed.TotalSeconds, GC.GetTotalMemory(forceFullCollection: true)));
            }
            var virtualSeconds = minutes * 60;
            Console.WriteLine("| run | monitoring | heartbeats | CPU s | CPU s per virtual s (cores) | wall s | managed heap after |");
            Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|");
            var n = 0;
            foreach (var r in rows)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {++n} | {(r.Monitoring ? "history + alerts" : "off")} | {nodes * virtualSeconds * 2:N0} | {r.Cpu:F2} | {r.Cpu / virtualSeconds:F3} | {r.Wall:F1} | {r.Heap / 1048576.0:F0} MiB |"));
            var off = rows.Where(r => !r.Monitoring).Average(r => r.Cpu);
            var on = rows.Where(r => r.Monitoring).Average(r => r.Cpu);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"monitoring adds {(on - off) / off * 100:F1} % CPU ({(on - off) / virtualSeconds * 1000:F1} ms of CPU per second of cluster time at {nodes} nodes); " +
                $"heartbeats alone need {off / virtualSeconds:F3} of a core"));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task RoundAsync(ClusterService cluster, List<string> ids, ILookup<string, ServiceInstance> mine, FakeTimeProvider time)
    {
        time.Advance(TimeSpan.FromMilliseconds(500));
        foreach (var id in ids)
        {
            var reports = mine[id].Select(i => new InstanceReport(i.Id, i.Epoch, InstanceState.Running, "", 0, 1000, [])).ToList();
            var outcome = await cluster.HeartbeatAsync(id, new HeartbeatRequest(new ResourceUsage(500, 4 * Gi, 10 * Gi, 120_000, 80_000), default, ["process"], reports, null), default);
            if (outcome.StatusCode != 200) throw new InvalidOperationException(outcome.Error?.Error);
        }
    }

    // A month fed at the coarsest rate each stored resolution still sees whole (15 min for the first 29 days, 1 min for
    // the last day, 10 s for the last hour): what stays stored at the end is what a 10 s feed leaves.
    private static async Task MonthAsync(int nodes, int services)
    {
        var dir = Directory.CreateTempSubdirectory("vc-monitoring-month-").FullName;
        try
        {
            await using var state = await EmbeddedClusterState.OpenAsync(dir);
            var start = DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture);
            var time = new FakeTimeProvider(start);
            var history = new MetricsHistory(state.KeyValueStore, Options.Create(new HistoryOptions()), time, NullLogger<MetricsHistory>.Instance);
            var nodeMetrics = ClusterService.NodeHistoryMetrics;
            var serviceMetrics = ClusterService.ServiceHistoryMetrics;
            var random = new Random(18);
            var end = start.AddDays(31);
            var clock = Stopwatch.StartNew();
            var lastSweep = start;
            var samples = 0L;
            for (var at = start; at < end;)
            {
                for (var n = 0; n < nodes; n++)
                    await history.RecordAsync($"node/node-{n:D3}", at, nodeMetrics, [.. nodeMetrics.Select(_ => random.NextDouble())]);
                for (var s = 0; s < services; s++)
                    await history.RecordAsync($"service/svc-{s:D2}", at, serviceMetrics, [3, 3 - random.Next(2), random.Next(5)]);
                samples += nodes + services;
                var left = end - at;
                var step = left > TimeSpan.FromDays(1) ? TimeSpan.FromMinutes(15) : left > TimeSpan.FromHours(1) ? TimeSpan.FromMinutes(1) : TimeSpan.FromSeconds(10);
                at += step;
                time.SetUtcNow(at);
                if (step >= TimeSpan.FromMinutes(1) || at.Second % 30 == 0) await history.FlushAsync();
                if (at - lastSweep >= TimeSpan.FromMinutes(10))
                {
                    await history.SweepAsync();
                    lastSweep = at;
                }
            }
            await history.FlushAsync();
            await history.SweepAsync();
            long keys = 0, bytes = 0;
            string? after = null;
            while (true)
            {
                var page = await state.KeyValueStore.ListAsync("metrics-history/", after, 1000);
                var entries = page.Entries.Where(e => e.Key != after).ToList();
                if (entries.Count == 0) break;
                keys += entries.Count;
                bytes += entries.Sum(e => (long)e.Key.Length + e.Value.Length);
                after = entries[^1].Key;
            }
            var series = (long)nodes * nodeMetrics.Length + (long)services * serviceMetrics.Length;
            var files = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Select(f => new FileInfo(f)).Where(f => f.Length > 0).ToList();
            var file = files.Sum(f => f.Length);
            Console.WriteLine("store files: " + string.Join(", ", files.Select(f => $"{Path.GetFileName(f.Name)} {f.Length / 1048576.0:F1} MiB")));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"history after a simulated month: {nodes} nodes x {nodeMetrics.Length} metrics + {services} services x {serviceMetrics.Length} = {series:N0} series; " +
                $"{keys:N0} keys ({keys / (double)series:F1} per series), {bytes / 1048576.0:F1} MiB of keys and values ({bytes / (double)series / 1024:F1} KiB per series), " +
                $"SQLite files {file / 1048576.0:F1} MiB; simulated in {clock.Elapsed.TotalSeconds:F0} s ({samples:N0} samples recorded)"));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static void DashboardSize()
    {
        var assembly = typeof(VirtualCluster.Dashboard.DashboardEndpoints).Assembly;
        long raw = 0, brotli = 0, gzip = 0;
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("dashboard/", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var (b, g) = (Compressed(bytes, s => new BrotliStream(s, CompressionLevel.SmallestSize, true)), Compressed(bytes, s => new GZipStream(s, CompressionLevel.SmallestSize, true)));
            Console.WriteLine($"dashboard {name["dashboard/".Length..]}: {bytes.Length:N0} B, Brotli {b:N0} B, gzip {g:N0} B");
            (raw, brotli, gzip) = (raw + bytes.Length, brotli + b, gzip + g);
        }
        Console.WriteLine($"dashboard first load transfers {brotli:N0} B with Brotli ({gzip:N0} B gzip, {raw:N0} B uncompressed) in 3 requests, plus the API's own JSON");
    }

    private static long Compressed(byte[] data, Func<Stream, Stream> wrap)
    {
        using var output = new MemoryStream();
        using (var compressor = wrap(output)) compressor.Write(data);
        return output.Length;
    }

    private static string Load() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
