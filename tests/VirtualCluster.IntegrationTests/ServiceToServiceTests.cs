using VirtualCluster.IntegrationTests.Infrastructure;
using VirtualCluster.Testing;
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

    /// <summary>
    /// A container calls a process service: with --service-calls-address on the Docker bridge's host address, the
    /// container's VC_SERVICE_B_URL is reachable from inside it. The container (busybox) asks it in a loop and puts the
    /// answer's body in the page its httpd serves, so the caller's stable URL shows b's answer.
    /// </summary>
    [DockerFact]
    public async Task A_container_calls_a_service_by_its_env_url_with_the_ports_on_the_docker_bridge()
    {
        var bridge = DockerBridgeAddress();
        Assert.True(bridge is not null, "no docker0 address on this machine");
        var stack = await GatewayStack.StartAsync(agents: 1, agentArgs: _ => ["--docker", "on", "--service-calls-address", bridge!]);
        try
        {
            var b = await stack.DeployHelloAsync("b", replicas: 1);
            // busybox's wget crashes in this image after its request, so nc sends a plain HTTP/1.0 request and sed drops the headers.
            const string script = "mkdir -p /w; echo waiting > /w/index.html; hp=${VC_SERVICE_B_URL#http://}; (while true; do printf 'GET / HTTP/1.0\\r\\nHost: b\\r\\n\\r\\n' | nc -w 3 ${hp%:*} ${hp##*:} > /w/raw && sed '1,/^\\r*$/d' /w/raw > /w/next && mv /w/next /w/index.html; sleep 0.3; done) & exec httpd -f -p 8080 -h /w";
            var spec = $$"""
                { "name": "caller", "driver": "docker", "image": "vc/busybox:test", "command": "/bin/sh", "args": ["-c", "{{script}}"],
                  "resources": { "cpu": "100m", "memory": "64Mi" }, "ports": [{ "name": "http", "containerPort": 8080 }] }
                """;
            using var api = stack.Cluster.Api();
            using (var post = await api.Http.PostAsync("/v1/services", new StringContent(spec, System.Text.Encoding.UTF8, "application/json")))
                Assert.True(post.IsSuccessStatusCode, await post.Content.ReadAsStringAsync());
            using var client = new GatewayClient(stack.Port);
            var (status, body) = (0, "");
            try
            {
                await Wait.UntilAsync(async () => ((status, body) = await client.GetAsync("caller")).body.StartsWith("hello from b-", StringComparison.Ordinal),
                    TimeSpan.FromSeconds(90), "the container's page to show b's answer");
            }
            catch (TimeoutException)
            {
                output.WriteLine($"the caller's page last showed ({status}): {body}");
                throw;
            }
            output.WriteLine(body.Trim());
            Assert.Equal($"hello from {b.Instances[0].Instance.Id} on {b.Instances[0].NodeName}\n", body);
        }
        catch
        {
            output.WriteLine(stack.Diagnostics());
            output.WriteLine(await stack.Cluster.DiagnosticsAsync());
            throw;
        }
        finally
        {
            // Processes first; then the containers of this cluster, whatever the killed agent left behind.
            var cluster = stack.Cluster.Url;
            await stack.DisposeAsync();
            using var docker = new Docker.DotNet.DockerClientConfiguration(new Uri(DockerTestEnvironment.Endpoint)).CreateClient();
            var left = await docker.Containers.ListContainersAsync(new Docker.DotNet.Models.ContainersListParameters
            {
                All = true,
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"io.virtualcluster.cluster={cluster}"] = true } },
            });
            foreach (var container in left)
                await docker.Containers.RemoveContainerAsync(container.ID, new Docker.DotNet.Models.ContainerRemoveParameters { Force = true });
        }
    }

    /// <summary>The host's IPv4 address on docker0 (the default bridge's gateway), or null.</summary>
    private static string? DockerBridgeAddress() => System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
        .FirstOrDefault(n => n.Name == "docker0")?.GetIPProperties().UnicastAddresses
        .FirstOrDefault(a => a.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)?.Address.ToString();
}
