using System.Diagnostics;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// Failover on real processes: a machine dies (its agent and workloads SIGKILLed), an agent freezes for longer than
/// its fencing lease (SIGSTOP), and agents whose heartbeats jitter or starve must not be declared down.
/// </summary>
public sealed class FailoverTests(ITestOutputHelper output)
{
    private static readonly HttpClient Curl = new() { Timeout = TimeSpan.FromSeconds(2) };

    private static async Task<string?> GetAsync(string url)
    {
        try
        {
            return await Curl.GetStringAsync(url);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    [Fact]
    public async Task Killing_a_machine_moves_a_replicated_service_and_a_singleton_to_healthy_nodes_with_a_timeline()
    {
        await using var cluster = await ManualCluster.StartAsync(3);
        await cluster.WithDiagnosticsAsync(output, () => KillMachineAsync(cluster));
    }

    private async Task KillMachineAsync(ManualCluster cluster)
    {
        var pair = await cluster.DeployHelloAsync("pair", 2);
        var single = await cluster.DeployHelloAsync("single", 1);
        var victim = single.Instances[0].NodeName;
        var oldUrls = pair.Instances.Concat(single.Instances).Where(i => i.NodeName == victim).Select(i => i.Urls[0]).ToHashSet();
        output.WriteLine($"victim {victim}; instances there: {string.Join(", ", oldUrls)}");

        var killedAt = Stopwatch.StartNew();
        var killed = ProcessTree.KillMachine(cluster.Agents[victim].Pid);
        output.WriteLine($"SIGKILLed {killed.Count} processes of {victim}: {string.Join(",", killed)}");

        using var api = cluster.Api();
        TimeSpan? singleBack = null;
        await Wait.UntilAsync(async () =>
        {
            var done = true;
            foreach (var name in new[] { "pair", "single" })
            {
                var view = await api.ServiceAsync(name);
                var live = view!.Instances.Where(i => i.Instance.State == InstanceState.Running && i.NodeName != victim).ToList();
                if (live.Count < view.Desired) { done = false; continue; }
                foreach (var instance in live)
                {
                    var body = await GetAsync(instance.Urls[0]);
                    if (body is null || !body.Contains($"hello from {instance.Instance.Id} on {instance.NodeName}", StringComparison.Ordinal)) done = false;
                }
                if (name == "single" && done) singleBack ??= killedAt.Elapsed;
            }
            return done;
        }, TimeSpan.FromSeconds(60), "both services running and answering on the surviving nodes");
        output.WriteLine($"singleton answering from another node {singleBack?.TotalSeconds:0.00} s after the kill; everything back after {killedAt.Elapsed.TotalSeconds:0.00} s");
        Assert.True(singleBack < TimeSpan.FromSeconds(30), $"singleton back after {singleBack}");

        foreach (var name in new[] { "pair", "single" })
        {
            var view = (await api.ServiceAsync(name))!;
            Assert.All(view.Instances, i => Assert.NotEqual(victim, i.NodeName));
            Assert.All(view.Instances, i => Assert.DoesNotContain(i.Urls[0], oldUrls));
        }

        // The event log has the failover timeline: detected -> placed -> started -> healthy, for each replacement.
        // A state is stored just before its event is appended, so wait for the events rather than read them once.
        var events = await cluster.EventsAsync();
        var down = Assert.Single(events, e => e.Kind == EventKinds.NodeDown);
        Assert.Equal(victim, down.Node);
        var moved = pair.Instances.Concat(single.Instances).Count(i => i.NodeName == victim);
        Incident? incident = null;
        await Wait.UntilAsync(async () =>
        {
            incident = IncidentTimeline.Build(await cluster.EventsAsync($"incident={down.Incident}")).SingleOrDefault();
            return incident?.Recoveries.Count == moved && incident.RecoveredAt is not null;
        }, TimeSpan.FromSeconds(15), "every replacement of the incident to be reported healthy");
        Assert.NotNull(incident);
        Assert.All(incident.Recoveries, r =>
        {
            Assert.NotNull(r.StartedAt);
            Assert.NotNull(r.HealthyAt);
            Assert.True(incident.DetectedAt <= r.PlacedAt && r.PlacedAt <= r.StartedAt && r.StartedAt <= r.HealthyAt, r.ToString());
        });
        foreach (var r in incident.Recoveries)
            output.WriteLine($"{r.Instance}: placed +{(r.PlacedAt - incident.DetectedAt).TotalSeconds:0.00} s, started +{(r.StartedAt!.Value - incident.DetectedAt).TotalSeconds:0.00} s, healthy +{(r.HealthyAt!.Value - incident.DetectedAt).TotalSeconds:0.00} s");

        var (code, text) = await CliRunner.RunAsync(cluster.CliEnv, "events", "--service", "single");
        Assert.True(code == 0, text);
        Assert.Contains("Failover timeline of single", text);
        Assert.Contains("healthy +", text);
        output.WriteLine(text);
    }

    [Fact]
    public async Task A_frozen_agent_never_lets_its_singleton_run_twice_and_its_stale_copy_is_stopped()
    {
        await using var cluster = await ManualCluster.StartAsync(3);
        await cluster.WithDiagnosticsAsync(output, () => FreezeAgentAsync(cluster));
    }

    private async Task FreezeAgentAsync(ManualCluster cluster)
    {
        var single = await cluster.DeployHelloAsync("single", 1);
        var original = single.Instances[0];
        var victim = original.NodeName;
        var agent = cluster.Agents[victim];
        using var api = cluster.Api();

        // An outside checker: every 100 ms, how many copies run (processes) and how many answer HTTP.
        var urls = new System.Collections.Concurrent.ConcurrentDictionary<string, bool>();
        urls[original.Urls[0]] = true;
        var samples = new List<(TimeSpan At, int Processes, int Answering)>();
        using var stopChecker = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var checker = Task.Run(async () =>
        {
            while (!stopChecker.IsCancellationRequested)
            {
                var processes = ProcessTree.WithEnvironment("VC_SERVICE", "single").Count;
                var answering = (await Task.WhenAll(urls.Keys.Select(GetAsync))).Count(b => b?.Contains("hello from single-", StringComparison.Ordinal) == true);
                lock (samples) samples.Add((clock.Elapsed, processes, answering));
                await Task.Delay(100);
            }
        });
        var urlWatcher = Task.Run(async () =>
        {
            while (!stopChecker.IsCancellationRequested)
            {
                try
                {
                    foreach (var i in (await api.ServiceAsync("single"))?.Instances ?? []) foreach (var u in i.Urls) urls[u] = true;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
                await Task.Delay(200);
            }
        });

        // The checker has seen the singleton before anything happens, so "watched before the freeze" below cannot race.
        await Wait.UntilAsync(() => { lock (samples) return Task.FromResult(samples.Any(s => s.Processes == 1)); },
            TimeSpan.FromSeconds(30), "the checker to see the singleton running");
        var frozenAt = TimeSpan.Zero;
        try
        {
            Native.Kill(agent.Pid, ProcessTree.SigStop);
            frozenAt = clock.Elapsed;
            output.WriteLine($"SIGSTOP {victim} (agent pid {agent.Pid}); singleton {original.Instance.Id} pid {original.Instance.Pid}");

            await Wait.UntilAsync(async () =>
            {
                var view = await api.ServiceAsync("single");
                var moved = view!.Instances.FirstOrDefault(i => i.NodeName != victim && i.Instance.State == InstanceState.Running);
                return moved is not null && await GetAsync(moved.Urls[0]) is not null;
            }, TimeSpan.FromSeconds(60), "a replacement answering on another node");
            output.WriteLine($"replacement answering {(clock.Elapsed - frozenAt).TotalSeconds:0.00} s after SIGSTOP");
            Assert.False(Native.IsAlive(original.Instance.Pid!.Value), "the stale copy still runs while the replacement serves");
        }
        finally
        {
            Native.Kill(agent.Pid, ProcessTree.SigCont);
        }

        // Back: the node reports again, learns it no longer runs the singleton, and says it was fenced.
        await Wait.UntilAsync(async () =>
        {
            var events = await cluster.EventsAsync("kind=instance.fenced");
            var node = (await api.StatusAsync()).Nodes.Single(n => n.Node.Name == victim);
            return events.Any(e => e.Node == victim && e.Instance == original.Instance.Id) && node.Node.State == NodeState.Alive;
        }, TimeSpan.FromSeconds(30), "the thawed agent to report the fencing");
        var thawed = clock.Elapsed;
        await Wait.UntilAsync(() => Task.FromResult(clock.Elapsed - thawed > TimeSpan.FromSeconds(2) && samples.Count > 0), TimeSpan.FromSeconds(10),
            "the checker to watch two more seconds");
        stopChecker.Cancel();
        await checker;
        await urlWatcher;

        var view = (await api.ServiceAsync("single"))!;
        var current = Assert.Single(view.Instances);
        Assert.NotEqual(victim, current.NodeName);
        Assert.Equal(InstanceState.Running, current.Instance.State);
        List<(TimeSpan At, int Processes, int Answering)> seen;
        lock (samples) seen = [.. samples];
        output.WriteLine($"{seen.Count} samples; max processes {seen.Max(s => s.Processes)}, max answering {seen.Max(s => s.Answering)}; " +
            $"first sample with no copy at {seen.FirstOrDefault(s => s.Processes == 0).At.TotalSeconds:0.0} s");
        // The checker watched the whole story (its positive control): before the freeze, during it, after the thaw.
        // A count of samples is no such proof: a faster failover simply takes fewer (50 once, when ">50" was asked).
        Assert.Contains(seen, s => s.At < frozenAt && s.Processes == 1);
        Assert.Contains(seen, s => s.At > frozenAt && s.At < thawed);
        Assert.Contains(seen, s => s.At > thawed);
        Assert.All(seen, s => Assert.True(s.Processes <= 1 && s.Answering <= 1, $"two copies at {s.At}: {s.Processes} processes, {s.Answering} answering"));
        Assert.Contains(seen, s => s.Answering == 1 && s.At > thawed);
        var fenced = (await cluster.EventsAsync("kind=instance.fenced")).Single(e => e.Instance == original.Instance.Id);
        output.WriteLine(fenced.Message);
    }

    [Fact]
    public async Task Heartbeat_jitter_and_a_cpu_starved_agent_are_not_mistaken_for_failures()
    {
        // node-1 delays each heartbeat by up to 400 ms; node-2 is frozen for 300-500 ms at a time, over and over.
        await using var cluster = await ManualCluster.StartAsync(3, i => i == 1 ? ["--heartbeat-jitter", "400"] : []);
        await cluster.WithDiagnosticsAsync(output, () => JitterAsync(cluster));
    }

    private async Task JitterAsync(ManualCluster cluster)
    {
        var single = await cluster.DeployHelloAsync("steady", 1);
        var pair = await cluster.DeployHelloAsync("pair", 2);
        var before = single.Instances.Concat(pair.Instances).Select(i => i.Instance.Id).Order().ToList();
        var starved = cluster.Agents["node-2"];
        var random = new Random(5);
        var clock = Stopwatch.StartNew();
        var frozen = TimeSpan.Zero;
        var cycles = 0;
        try
        {
            while (clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                var pause = Stopwatch.StartNew();
                Native.Kill(starved.Pid, ProcessTree.SigStop);
                await Task.Delay(random.Next(300, 501));
                Native.Kill(starved.Pid, ProcessTree.SigCont);
                frozen += pause.Elapsed;
                cycles++;
                await Task.Delay(random.Next(200, 601));
            }
        }
        finally
        {
            Native.Kill(starved.Pid, ProcessTree.SigCont);
        }
        output.WriteLine($"{cycles} freeze cycles, node-2 frozen {frozen.TotalSeconds:0.0} s of {clock.Elapsed.TotalSeconds:0.0} s");

        // Give the detector time to act on anything it suspects, then look at what it did.
        using var api = cluster.Api();
        await Wait.UntilAsync(async () => (await api.StatusAsync()).Nodes.All(n => n.Node.State == NodeState.Alive), TimeSpan.FromSeconds(20), "all nodes alive");
        var events = await cluster.EventsAsync();
        var suspects = events.Count(e => e.Kind == EventKinds.NodeSuspect);
        output.WriteLine($"{suspects} suspect event(s): {string.Join("; ", events.Where(e => e.Kind == EventKinds.NodeSuspect).Select(e => e.Message))}");
        Assert.DoesNotContain(events, e => e.Kind is EventKinds.NodeDown or EventKinds.InstanceLost or EventKinds.InstanceFenced);
        var after = (await api.StatusAsync()).Services.SelectMany(s => s.Instances).Select(i => i.Instance.Id).Order().ToList();
        Assert.Equal(before, after);
    }
}
