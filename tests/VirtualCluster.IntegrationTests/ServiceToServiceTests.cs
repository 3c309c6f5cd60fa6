using VirtualCluster.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// Service-to-service calls on one machine (agents behind a gateway, tunnels only, no NAT): an instance of "a" calls
/// "b" at the address its agent put in VC_SERVICE_B_URL, through the agent's tunnel and the gateway to b's node; a
/// service removed after "a" started is a 404 that says so, while "b" (the positive control) still answers.
/// </summary>
public sealed class ServiceToServiceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task An_instance_calls_another_service_by_its_env_url_and_a_removed_one_answers_404()
    {
        await using var stack = await GatewayStack.StartAsync(agents: 2);
        try
        {
            var b = await stack.DeployHelloAsync("b", replicas: 1);
            await stack.DeployHelloAsync("c", replicas: 1);
            // "a" starts after "b" and "c" exist, so its agent gives it both addresses.
            var a = await stack.DeployHelloAsync("a", replicas: 1);
            output.WriteLine($"a on {a.Instances[0].NodeName}, b on {b.Instances[0].NodeName}");
            using var client = new GatewayClient(stack.Port, TimeSpan.FromSeconds(20));
            var (status, body) = (0, "");
            await Wait.UntilAsync(async () => ((status, body) = await client.GetAsync("a", "/call/b")).status == 200, TimeSpan.FromSeconds(30),
                "a's call to b to succeed");
            output.WriteLine(body.Trim());
            Assert.Equal($"{a.Instances[0].Instance.Id} called b: hello from {b.Instances[0].Instance.Id} on {b.Instances[0].NodeName}\n", body);

            using var api = stack.Cluster.Api();
            using (var deleted = await api.Http.DeleteAsync("/v1/services/c"))
                Assert.True(deleted.IsSuccessStatusCode, await deleted.Content.ReadAsStringAsync());
            await Wait.UntilAsync(async () => ((status, body) = await client.GetAsync("a", "/call/c")).status == 404, TimeSpan.FromSeconds(30),
                "a's call to the removed c to answer 404");
            output.WriteLine(body.Trim());
            Assert.Contains("no service named \"c\" is deployed", body);
            Assert.Equal(200, (await client.GetAsync("a", "/call/b")).Status);
        }
        catch
        {
            output.WriteLine(stack.Diagnostics());
            output.WriteLine(await stack.Cluster.DiagnosticsAsync());
            throw;
        }
    }
}
