using System.Collections.Concurrent;
using System.Diagnostics;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// The stable URL across machine deaths: agents behind a gateway (tunnels only), a machine killed with SIGKILL
/// (agent and workloads), requests counted through it.
/// </summary>
public sealed class GatewayFailoverTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Killing_one_replicas_machine_under_steady_load_fails_no_request()
    {
        await using var stack = await GatewayStack.StartAsync(agents: 3);
        await WithDiagnostics(stack, async () =>
        {
            var view = await stack.DeployHelloAsync("web", replicas: 2);
            using var client = new GatewayClient(stack.Port);
            await Wait.UntilAsync(async () => (await client.GetAsync("web")).Status == 200, TimeSpan.FromSeconds(30), "the stable URL to answer");

            var failures = new ConcurrentQueue<string>();
            var answeredBy = new ConcurrentDictionary<string, int>();
            long requests = 0;
            using var stop = new CancellationTokenSource();
            var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var (status, body) = await client.GetAsync("web");
                    Interlocked.Increment(ref requests);
                    if (status == 200) answeredBy.AddOrUpdate(body.Split(' ')[2], 1, (_, n) => n + 1);
                    else failures.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {status} {body.Trim()}");
                }
            })).ToList();

            // Positive control: both replicas answer before the kill.
            await Wait.UntilAsync(() => Task.FromResult(answeredBy.Count == 2), TimeSpan.FromSeconds(30), "both replicas to answer");
            var victim = view.Instances[0];
            var killedAt = Stopwatch.StartNew();
            ProcessTree.KillMachine(stack.Cluster.Agents[victim.NodeName].Pid);
            output.WriteLine($"killed {victim.NodeName} running {victim.Instance.Id} after {Interlocked.Read(ref requests)} requests");

            // Keep the load on until the control plane has replaced the lost replica and the new one answers.
            using var api = stack.Cluster.Api();
            await Wait.UntilAsync(async () =>
            {
                var now = await api.ServiceAsync("web");
                return now is not null && now.Running == 2 && now.Instances.All(i => i.Instance.Id != victim.Instance.Id);
            }, TimeSpan.FromSeconds(90), "the lost replica to be replaced");
            var replacement = (await api.ServiceAsync("web"))!.Instances.Select(i => i.Instance.Id).Except(answeredBy.Keys).FirstOrDefault();
            if (replacement is not null)
                await Wait.UntilAsync(() => Task.FromResult(answeredBy.ContainsKey(replacement)), TimeSpan.FromSeconds(10), "the replacement to answer");
            stop.Cancel();
            await Task.WhenAll(load);

            output.WriteLine($"{requests} requests, {failures.Count} failed, over {killedAt.Elapsed.TotalSeconds:0.0} s after the kill; answered by: "
                + string.Join(", ", answeredBy.Select(kv => $"{kv.Key}={kv.Value}")));
            foreach (var f in failures.Take(20)) output.WriteLine(f);
            Assert.True(requests > 100, $"only {requests} requests were made");
            Assert.Empty(failures);
        });
    }

    [Fact]
    public async Task After_a_singletons_machine_dies_the_same_url_answers_from_the_new_node()
    {
        await using var stack = await GatewayStack.StartAsync(agents: 3);
        await WithDiagnostics(stack, async () =>
        {
            var view = await stack.DeployHelloAsync("solo", replicas: 1);
            using var client = new GatewayClient(stack.Port);
            var first = "";
            await Wait.UntilAsync(async () =>
            {
                var (status, body) = await client.GetAsync("solo");
                first = body;
                return status == 200;
            }, TimeSpan.FromSeconds(30), "the stable URL to answer");
            var oldNode = view.Instances[0].NodeName;
            Assert.EndsWith($"on {oldNode}\n", first);

            ProcessTree.KillMachine(stack.Cluster.Agents[oldNode].Pid);
            var statuses = new List<int>();
            var answer = "";
            var sawRetryAfter = false;
            await Wait.UntilAsync(async () =>
            {
                using var response = await client.Http.GetAsync(client.Url("solo"));
                statuses.Add((int)response.StatusCode);
                sawRetryAfter |= response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable && response.Headers.RetryAfter is not null;
                answer = await response.Content.ReadAsStringAsync();
                return response.IsSuccessStatusCode;
            }, TimeSpan.FromSeconds(60), "the stable URL to answer again");
            output.WriteLine($"after the kill: {string.Join(",", statuses.GroupBy(s => s).Select(g => $"{g.Key}x{g.Count()}"))}; then {answer.Trim()}");
            Assert.DoesNotContain($"on {oldNode}\n", answer);
            Assert.StartsWith("hello from solo-", answer);
            // While it failed over, the gateway said so (503 with Retry-After), not a bare error.
            Assert.True(sawRetryAfter, "no 503 with Retry-After was seen while the singleton failed over");
            Assert.All(statuses.Where(s => s != 200), s => Assert.Equal(503, s));
        });
    }

    private async Task WithDiagnostics(GatewayStack stack, Func<Task> body)
    {
        try
        {
            await body();
        }
        catch
        {
            output.WriteLine(stack.Diagnostics());
            output.WriteLine(await stack.Cluster.DiagnosticsAsync());
            throw;
        }
    }
}
