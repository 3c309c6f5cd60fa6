using System.Diagnostics;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>Graceful moves on real processes: `vcluster drain` and an agent that gets SIGTERM.</summary>
public sealed class DrainTests(ITestOutputHelper output)
{
    private static readonly HttpClient Curl = new() { Timeout = TimeSpan.FromSeconds(2) };

    [Fact]
    public async Task An_agent_stopped_with_sigterm_drains_its_node_first_so_the_singleton_keeps_answering()
    {
        await using var cluster = await ManualCluster.StartAsync(3);
        await cluster.WithDiagnosticsAsync(output, () => SigtermAsync(cluster));
    }

    private async Task SigtermAsync(ManualCluster cluster)
    {
        var single = await cluster.DeployHelloAsync("single", 1);
        var pair = await cluster.DeployHelloAsync("pair", 2);
        var leaving = single.Instances[0].NodeName;
        var agent = cluster.Agents[leaving];
        using var api = cluster.Api();

        // Outside checker: how many copies of the singleton answer, every 100 ms, from SIGTERM until the agent is gone.
        var urls = new System.Collections.Concurrent.ConcurrentDictionary<string, bool>();
        urls[single.Instances[0].Urls[0]] = true;
        var samples = new List<int>();
        using var stop = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    foreach (var i in (await api.ServiceAsync("single"))?.Instances ?? []) foreach (var u in i.Urls) urls[u] = true;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
                var answering = 0;
                foreach (var url in urls.Keys)
                {
                    try
                    {
                        if ((await Curl.GetStringAsync(url)).Contains("hello from single-", StringComparison.Ordinal)) answering++;
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
                }
                lock (samples) samples.Add(answering);
                await Task.Delay(100);
            }
        });

        var clock = Stopwatch.StartNew();
        Native.Kill(agent.Pid, 15);
        var code = await agent.WaitForExitAsync(TimeSpan.FromSeconds(90));
        output.WriteLine($"agent of {leaving} exited with {code} after {clock.Elapsed.TotalSeconds:0.0} s");
        stop.Cancel();
        await watcher;

        Assert.Equal(0, code);
        Assert.Contains("Drain done", agent.Output);
        Assert.Contains("Left the cluster", agent.Output);
        List<int> seen;
        lock (samples) seen = [.. samples];
        output.WriteLine($"{seen.Count} samples of answering copies: {string.Join(",", seen)}");
        Assert.True(seen.Count >= 5, "too few samples");
        Assert.All(seen, n => Assert.True(n >= 1, "the singleton stopped answering during the drain"));

        foreach (var name in new[] { "single", "pair" })
        {
            var view = await api.WaitRunningAsync(name, TimeSpan.FromSeconds(30));
            Assert.All(view.Instances, i => Assert.NotEqual(leaving, i.NodeName));
        }
        var node = (await api.StatusAsync()).Nodes.Single(n => n.Node.Name == leaving);
        Assert.Equal(NodeState.Left, node.Node.State);
        var events = await cluster.EventsAsync($"node={leaving}");
        foreach (var kind in new[] { EventKinds.NodeDraining, EventKinds.NodeDrained, EventKinds.NodeLeft, EventKinds.InstanceMoved })
            Assert.Contains(events, e => e.Kind == kind);
        Assert.DoesNotContain(events, e => e.Kind is EventKinds.NodeDown or EventKinds.InstanceLost);
        var moved = single.Instances.Concat(pair.Instances).Count(i => i.NodeName == leaving);
        Assert.Equal(moved, events.Count(e => e.Kind == EventKinds.InstanceMoved));
    }

    [Fact]
    public async Task Vcluster_drain_moves_a_nodes_instances_and_cancel_lets_it_take_work_again()
    {
        await using var cluster = await ManualCluster.StartAsync(2);
        await cluster.WithDiagnosticsAsync(output, async () =>
        {
            var pair = await cluster.DeployHelloAsync("pair", 2);
            var drained = pair.Instances[0].NodeName;

            var (code, text) = await CliRunner.RunAsync(cluster.CliEnv, "drain", drained);
            output.WriteLine(text);
            Assert.True(code == 0, text);
            Assert.Contains($"{drained} is drained", text);

            using var api = cluster.Api();
            var status = await api.StatusAsync();
            Assert.Equal(NodeState.Draining, status.Nodes.Single(n => n.Node.Name == drained).Node.State);
            var view = await api.WaitRunningAsync("pair", TimeSpan.FromSeconds(30));
            Assert.All(view.Instances, i => Assert.NotEqual(drained, i.NodeName));
            foreach (var instance in view.Instances) Assert.Contains("hello from", await Curl.GetStringAsync(instance.Urls[0]));

            (code, text) = await CliRunner.RunAsync(cluster.CliEnv, "drain", drained, "--cancel");
            Assert.True(code == 0, text);
            Assert.Equal(NodeState.Alive, (await api.StatusAsync()).Nodes.Single(n => n.Node.Name == drained).Node.State);

            (code, text) = await CliRunner.RunAsync(cluster.CliEnv, "events", "--node", drained, "--kind", "node");
            Assert.True(code == 0, text);
            foreach (var kind in new[] { "node.draining", "node.drained", "node.drain-cancelled" }) Assert.Contains(kind, text);
        });
    }
}
