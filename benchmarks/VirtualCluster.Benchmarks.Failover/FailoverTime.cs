using System.Diagnostics;
using System.Globalization;
using VirtualCluster.Api;

namespace VirtualCluster.Benchmarks.Failover;

/// <summary>
/// Seconds from kill -9 of the machine running a singleton (its agent and workload, SIGKILLed together) to the
/// service answering HTTP from another node, over several runs; each run also splits the time into detection,
/// placement, start and health from the incident's events.
/// </summary>
internal static class FailoverTime
{
    private static readonly HttpClient Curl = new() { Timeout = TimeSpan.FromMilliseconds(500) };

    private sealed record Run(int Number, string Victim, double Answering, double? Detected, double? Placed, double? Started, double? Healthy);

    public static async Task<int> RunAsync(TextWriter output, string hostDll, string helloDll, int runs, string? specFile)
    {
        // The workload: HelloService on the process driver, or any spec file (e.g. samples/specs/busybox.json for Docker).
        var spec = specFile is null
            ? $$"""
                { "name": "bench", "command": "dotnet", "args": ["{{helloDll}}"], "replicas": 1,
                  "resources": { "cpu": "100m", "memory": "64Mi" }, "ports": [{ "name": "http" }],
                  "healthCheck": { "type": "http", "port": "http", "path": "/health", "interval": "1s" } }
                """
            : AsSingleton(specFile);
        var what = specFile is null ? "process driver, one singleton HelloService" : $"one singleton from {Path.GetFileName(specFile)}";
        output.WriteLine($"Failover time, {what}: {runs} runs, 3 agents; heartbeats every 500 ms.");
        await using var cluster = await BenchCluster.StartAsync(hostDll, 3);
        await cluster.DeployAsync(spec);
        var results = new List<Run>();
        for (var i = 1; i <= runs; i++)
        {
            var current = await RunningInstanceAsync(cluster, exceptNode: null, TimeSpan.FromSeconds(90));
            // Let the cluster settle after the previous run's rejoin before killing again.
            await Task.Delay(TimeSpan.FromSeconds(5));
            var killedAt = DateTimeOffset.UtcNow;
            var clock = Stopwatch.StartNew();
            await cluster.KillMachineAsync(current.NodeName);
            var moved = await RunningInstanceAsync(cluster, current.NodeName, TimeSpan.FromSeconds(120), answering: true);
            var answering = clock.Elapsed.TotalSeconds;
            var run = await BreakdownAsync(cluster, i, current.NodeName, killedAt, answering);
            results.Add(run);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run {i,2}: killed {current.NodeName}, {moved.Instance.Id} answering on {moved.NodeName} after {answering:0.00} s " +
                $"(detected {Show(run.Detected)}, placed {Show(run.Placed)}, started {Show(run.Started)}, healthy {Show(run.Healthy)})"));
            cluster.RestartAgent(current.NodeName);
            await cluster.WaitAliveAsync(3, TimeSpan.FromSeconds(90));
        }
        var times = results.Select(r => r.Answering).Order().ToList();
        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"answering elsewhere after kill -9: median {Median(times):0.00} s, best {times[0]:0.00} s, worst {times[^1]:0.00} s over {times.Count} runs"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"medians after the kill: detected {Median(results, r => r.Detected):0.00} s, placed {Median(results, r => r.Placed):0.00} s, " +
            $"started {Median(results, r => r.Started):0.00} s, healthy {Median(results, r => r.Healthy):0.00} s"));
        return 0;
    }

    /// <summary>The spec in <paramref name="path"/>, renamed "bench" with one replica (so it is a fenced singleton).</summary>
    private static string AsSingleton(string path)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path), documentOptions: new System.Text.Json.JsonDocumentOptions
        {
            CommentHandling = System.Text.Json.JsonCommentHandling.Skip,
        })!.AsObject();
        node["name"] = "bench";
        node["replicas"] = 1;
        return node.ToJsonString();
    }

    private static async Task<InstanceView> RunningInstanceAsync(BenchCluster cluster, string? exceptNode, TimeSpan timeout, bool answering = false)
    {
        InstanceView? found = null;
        await BenchCluster.UntilAsync(async () =>
        {
            var view = await cluster.ServiceAsync("bench");
            var candidate = view?.Instances.FirstOrDefault(i => i.NodeName != exceptNode && !i.Instance.IsTerminal && i.Urls.Count > 0
                && (answering || i.Instance.State == InstanceState.Running));
            if (candidate is null) return false;
            if (answering)
            {
                // Hammer the new copy's URL: "answering" is the first 2xx from the new node.
                try
                {
                    using var response = await Curl.GetAsync(candidate.Urls[0]);
                    if (!response.IsSuccessStatusCode) return false;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    return false;
                }
            }
            found = candidate;
            return true;
        }, timeout, exceptNode is null ? "the singleton to run" : $"the singleton to answer somewhere other than {exceptNode}");
        return found!;
    }

    private static async Task<Run> BreakdownAsync(BenchCluster cluster, int number, string victim, DateTimeOffset killedAt, double answering)
    {
        var down = (await cluster.EventsAsync("kind=node.down&node=" + victim)).LastOrDefault(e => e.Timestamp >= killedAt);
        if (down?.Incident is null) return new Run(number, victim, answering, null, null, null, null);
        // The healthy report may trail the first answer by a heartbeat; wait for it briefly.
        IncidentRecovery? recovery = null;
        await BenchCluster.UntilAsync(async () =>
        {
            recovery = IncidentTimeline.Build(await cluster.EventsAsync("incident=" + down.Incident)).SingleOrDefault()?.Recoveries.FirstOrDefault();
            return recovery?.HealthyAt is not null;
        }, TimeSpan.FromSeconds(10), "the healthy report").ContinueWith(_ => { }, TaskScheduler.Default);
        double? Since(DateTimeOffset? at) => at is { } t ? (t - killedAt).TotalSeconds : null;
        return new Run(number, victim, answering, Since(down.Timestamp), Since(recovery?.PlacedAt), Since(recovery?.StartedAt), Since(recovery?.HealthyAt));
    }

    private static string Show(double? seconds) => seconds is { } s ? s.ToString("0.00", CultureInfo.InvariantCulture) + " s" : "?";

    private static double Median(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;

    private static double Median(List<Run> runs, Func<Run, double?> pick)
    {
        var values = runs.Select(pick).OfType<double>().Order().ToList();
        return values.Count == 0 ? double.NaN : Median(values);
    }
}
