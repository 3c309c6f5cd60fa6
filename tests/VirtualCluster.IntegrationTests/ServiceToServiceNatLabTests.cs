using System.Collections.Concurrent;
using System.Diagnostics;
using VirtualCluster.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// Issue 14's service-to-service proof on the NAT lab: service "a" on a node behind one NAT calls service "b" by name
/// (VC_SERVICE_B_URL, its agent's local address) on a node behind another NAT; b's machine dies and b fails over; a's
/// calls succeed again within a second of b's new instance being healthy.
/// </summary>
[Trait("Category", "NAT")]
public sealed class ServiceToServiceNatLabTests(ITestOutputHelper output)
{
    private static readonly TimeSpan LinkTimeout = TimeSpan.FromSeconds(120);

    private sealed record Call(double Started, double Ended, int Status, string Body);

    [NatLabFact]
    public async Task A_service_behind_one_NAT_calls_another_behind_another_by_name_and_again_within_a_second_of_its_failover()
    {
        await using var lab = await NatGatewayLab.StartAsync();
        try
        {
            // Both links direct before any call, so the gateway reaches b's node over its peer link, not the tunnel.
            var before = await lab.WaitForPathsAsync(new Dictionary<string, string> { ["node-a"] = "direct", ["node-b"] = "direct" }, LinkTimeout);
            var b = await lab.DeployHelloAsync("b");
            var bNode = b.Instances[0].NodeName;
            var aNode = NatGatewayLab.NodeHomes.Keys.Single(n => n != bNode);
            // "a" starts after "b" exists (its agent then gives it VC_SERVICE_B_URL), behind the other NAT.
            var a = await lab.DeployHelloAsync("a", home: NatGatewayLab.NodeHomes[aNode]);
            Assert.Equal(aNode, a.Instances[0].NodeName);
            output.WriteLine($"a on {aNode} ({NatGatewayLab.NodeHomes[aNode]}), b on {bNode} ({NatGatewayLab.NodeHomes[bNode]})");

            using var http = lab.ClientHttp(TimeSpan.FromSeconds(15));
            var url = lab.StableUrl("a", "/call/b");
            var body = "";
            await Wait.UntilAsync(async () =>
            {
                using var response = await http.GetAsync(url);
                body = await response.Content.ReadAsStringAsync();
                return response.IsSuccessStatusCode;
            }, TimeSpan.FromSeconds(60), "a's call to b to succeed");
            output.WriteLine(body.Trim());
            Assert.Equal($"{a.Instances[0].Instance.Id} called b: hello from {b.Instances[0].Instance.Id} on {bNode}\n", body);
            // The gateway reached b's node over its peer link: no stream went through b's tunnel.
            var links = await lab.LinksAsync();
            output.WriteLine($"{bNode}'s link: {before[bNode]} -> {links[bNode]}");
            Assert.Equal(before[bNode].TunnelDials, links[bNode].TunnelDials);
            Assert.True(links[bNode].BytesReceived > before[bNode].BytesReceived, $"nothing came back over {bNode}'s link");

            // Calls start every 100 ms, each on its own, so that one hanging on the dead instance delays no other.
            var clock = Stopwatch.StartNew();
            var calls = new ConcurrentQueue<Call>();
            using var stop = new CancellationTokenSource();
            var launcher = Task.Run(async () =>
            {
                var inFlight = new List<Task>();
                while (!stop.IsCancellationRequested)
                {
                    inFlight.Add(Task.Run(async () =>
                    {
                        var started = clock.Elapsed.TotalSeconds;
                        try
                        {
                            using var response = await http.GetAsync(url);
                            calls.Enqueue(new Call(started, clock.Elapsed.TotalSeconds, (int)response.StatusCode, await response.Content.ReadAsStringAsync()));
                        }
                        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                        {
                            calls.Enqueue(new Call(started, clock.Elapsed.TotalSeconds, 0, e.GetType().Name));
                        }
                    }));
                    inFlight.RemoveAll(t => t.IsCompleted);
                    try { await Task.Delay(100, stop.Token); } catch (OperationCanceledException) { }
                }
                await Task.WhenAll(inFlight);
            });

            // Measured once every process of the home is dead: a call started while the kill was under way may still
            // have been answered by the old instance.
            var killed = lab.KillNode(bNode);
            var killedAt = clock.Elapsed.TotalSeconds;
            output.WriteLine($"killed {killed} processes in {bNode}'s home");
            // b's replacement is healthy when the control plane lists it running (its health check passed).
            double healthyAt = 0;
            using (var api = lab.Api())
                await Wait.UntilAsync(async () =>
                {
                    var now = await api.ServiceAsync("b");
                    if (now is null || now.Running != 1 || now.Instances.Any(i => i.Instance.Id == b.Instances[0].Instance.Id)) return false;
                    healthyAt = clock.Elapsed.TotalSeconds;
                    return true;
                }, TimeSpan.FromSeconds(120), "b's replacement to be healthy");
            Call? first = null;
            await Wait.UntilAsync(() =>
            {
                first = calls.Where(c => c.Started > killedAt && c.Status == 200 && !c.Body.Contains(b.Instances[0].Instance.Id)).OrderBy(c => c.Ended).FirstOrDefault();
                return Task.FromResult(first is not null);
            }, TimeSpan.FromSeconds(30), "a's calls to b to succeed again");
            stop.Cancel();
            await launcher;

            var after = calls.Where(c => c.Started > killedAt).OrderBy(c => c.Started).ToList();
            output.WriteLine($"b's replacement healthy {healthyAt - killedAt:0.00} s after the kill; a's first successful call ended {first!.Ended - healthyAt:0.00} s after that: {first.Body.Trim()}");
            output.WriteLine("calls after the kill (status@started-ended s): " + string.Join(", ", after.GroupBy(c => c.Status)
                .Select(g => $"{g.Key}x{g.Count()} ({g.Min(c => c.Started) - killedAt:0.0}-{g.Max(c => c.Ended) - killedAt:0.0})")));
            Assert.Contains($" on {aNode}\n", first.Body); // b now runs where it failed over to
            // Nothing answered from the dead instance once it was dead (a 503's text may name it as the one failing over).
            Assert.DoesNotContain(after, c => c.Status == 200 && c.Body.Contains($"hello from {b.Instances[0].Instance.Id}"));
            Assert.True(first.Ended - healthyAt <= 1.0, $"a's first successful call ended {first.Ended - healthyAt:0.00} s after b's replacement was healthy");
            // Every call started a second after b was healthy succeeded.
            Assert.All(after.Where(c => c.Started > healthyAt + 1), c => Assert.Equal(200, c.Status));
        }
        catch
        {
            output.WriteLine(lab.Diagnostics());
            throw;
        }
    }
}
