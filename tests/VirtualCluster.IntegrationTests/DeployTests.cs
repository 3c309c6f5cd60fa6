using System.Net;
using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// User story 1 on the embedded default, end to end: the `local` command, the real CLI, the sample service.
/// </summary>
public sealed class DeployTests(LocalCluster cluster) : IClassFixture<LocalCluster>
{
    private static readonly HttpClient Curl = new() { Timeout = TimeSpan.FromSeconds(5) };

    [Fact]
    public async Task Deploy_hello_runs_two_replicas_that_answer_http_and_can_be_listed_logged_and_removed()
    {
        var (code, output) = await CliRunner.RunAsync(cluster.CliEnv, "deploy", RepoPaths.HelloSpec);
        Assert.True(code == 0, output);

        using var api = cluster.Api();
        var view = await api.ServiceAsync("hello");
        Assert.NotNull(view);
        Assert.Equal(2, view.Running);
        foreach (var instance in view.Instances)
        {
            var url = Assert.Single(instance.Urls);
            Assert.Contains(url, output); // the CLI printed where to reach it
            var body = await Curl.GetStringAsync(url);
            Assert.Contains($"hello from {instance.Instance.Id}", body);
        }

        (code, output) = await CliRunner.RunAsync(cluster.CliEnv, "status");
        Assert.Equal(0, code);
        foreach (var node in new[] { "node-1", "node-2", "node-3", "hello" }) Assert.Contains(node, output);

        (code, output) = await CliRunner.RunAsync(cluster.CliEnv, "status", "--output", "json");
        Assert.Equal(0, code);
        var status = JsonSerializer.Deserialize<ClusterStatus>(output, VirtualClusterJson.Options)!;
        Assert.Equal(3, status.Nodes.Count);
        Assert.All(status.Nodes, n => Assert.True(n.Node.Capacity.MemoryBytes > 0 && n.Node.Usage.MemoryBytes > 0));
        Assert.Equal(2, status.Services.Single(s => s.Spec.Name == "hello").Running);

        (code, output) = await CliRunner.RunAsync(cluster.CliEnv, "services");
        Assert.Equal(0, code);
        Assert.Contains("hello", output);
        (code, output) = await CliRunner.RunAsync(cluster.CliEnv, "nodes");
        Assert.Equal(0, code);
        Assert.Contains("node-2", output);

        await Wait.UntilAsync(async () =>
        {
            var (c, o) = await CliRunner.RunAsync(cluster.CliEnv, "logs", "hello");
            return c == 0 && view.Instances.All(i => o.Contains($"HelloService {i.Instance.Id} listening"));
        }, TimeSpan.FromSeconds(30), "both instances' startup lines in `vcluster logs hello`");

        var pids = view.Instances.Select(i => i.Instance.Pid!.Value).ToList();
        (code, output) = await CliRunner.RunAsync(cluster.CliEnv, "rm", "hello");
        Assert.True(code == 0, output);
        Assert.Null(await api.ServiceAsync("hello"));
        await Wait.UntilAsync(() => Task.FromResult(pids.All(p => !Native.IsAlive(p))), TimeSpan.FromSeconds(30), "hello processes to stop");
        foreach (var url in view.Instances.Select(i => i.Urls[0]))
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => Curl.GetStringAsync(url));
    }

    [Fact]
    public async Task Deploy_that_fits_nowhere_names_the_resource_and_leaves_nothing_behind()
    {
        var spec = Path.Combine(cluster.DataDirectory, "huge.json");
        await File.WriteAllTextAsync(spec, """
            { "name": "huge", "command": "dotnet", "args": ["x.dll"], "replicas": 2,
              "resources": { "cpu": "100m", "memory": "64Ti" }, "ports": [ { "name": "http" } ] }
            """);
        var (code, output) = await CliRunner.RunAsync(cluster.CliEnv, "deploy", spec);
        Assert.Equal(1, code);
        Assert.Contains("memory", output);
        Assert.Contains("3 of 3 nodes", output);
        Assert.Contains("largest free", output);

        using var api = cluster.Api();
        Assert.Null(await api.ServiceAsync("huge"));
        var status = await api.StatusAsync();
        Assert.DoesNotContain(status.Services, s => s.Spec.Name == "huge");
    }

    [Fact]
    public async Task Bad_input_gets_clear_errors_and_the_control_plane_keeps_serving()
    {
        var spec = Path.Combine(cluster.DataDirectory, "bad.json");
        await File.WriteAllTextAsync(spec, """{ "name": "Bad Name", "replicas": 0, "colour": "red" }""");
        var (code, output) = await CliRunner.RunAsync(cluster.CliEnv, "deploy", spec);
        Assert.Equal(2, code);
        Assert.Contains("name", output);
        Assert.Contains("replicas", output);
        Assert.Contains("colour", output);

        (code, output) = await CliRunner.RunAsync(cluster.CliEnv, "deploy", Path.Combine(cluster.DataDirectory, "missing.json"));
        Assert.Equal(2, code);

        using (var anonymous = new ApiClient(cluster.Url, null))
        {
            var response = await anonymous.Http.GetAsync("/v1/status");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Contains("bearer token", await response.Content.ReadAsStringAsync());
        }
        var joinToken = (await File.ReadAllTextAsync(Path.Combine(cluster.DataDirectory, "control-plane", "join.token"))).Trim();
        using (var agentish = new ApiClient(cluster.Url, joinToken))
            Assert.Equal(HttpStatusCode.Forbidden, (await agentish.Http.GetAsync("/v1/status")).StatusCode);
        using (var forged = new ApiClient(cluster.Url, cluster.AdminToken[..^4] + "AAAA"))
            Assert.Equal(HttpStatusCode.Unauthorized, (await forged.Http.GetAsync("/v1/status")).StatusCode);

        using var api = cluster.Api();
        foreach (var body in new[] { "", "{", "[]", "null", "{\"name\":" + new string('[', 5000), "\u0000\u0001" })
        {
            var response = await api.Http.PostAsync("/v1/services", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = JsonSerializer.Deserialize<ApiError>(await response.Content.ReadAsStringAsync(), VirtualClusterJson.Options);
            Assert.False(string.IsNullOrWhiteSpace(error?.Error));
        }
        var join = await new HttpClient(TestTls.Handler(cluster.Url)).PostAsync(cluster.Url + "/v1/join", new StringContent("{\"joinToken\":\"nope\"}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, join.StatusCode);
        Assert.True(await api.HealthyAsync());
        Assert.DoesNotContain((await api.StatusAsync()).Services, s => s.Spec.Name is "bad" or "Bad Name");
    }
}
