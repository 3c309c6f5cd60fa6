using System.Net;
using System.Net.Http.Json;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// Metrics history lives in the cluster store: after <c>kill -9</c> of the control plane and a start on the same data
/// directory, every point written before the kill is answered again, and the new process goes on recording.
/// </summary>
public sealed class HistoryRestartTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vc-history-").FullName;
    private readonly List<TestProcess> _processes = [];

    [Fact]
    public async Task History_survives_a_killed_control_plane_and_bad_queries_are_refused()
    {
        try
        {
            await RunAsync();
        }
        catch
        {
            foreach (var process in _processes) output.WriteLine($"--- pid {process.Pid}\n{process.Output}");
            throw;
        }
    }

    private async Task RunAsync()
    {
        var url = $"http://127.0.0.1:{Wait.FreePort()}";
        var cpDir = Path.Combine(_dir, "cp");
        var controlPlane = StartControlPlane(cpDir, url);
        var adminToken = await ReadTokenAsync(Path.Combine(cpDir, "admin.token"));
        using var api = new ApiClient(url, adminToken);
        await Wait.UntilAsync(api.HealthyAsync, TimeSpan.FromSeconds(60), "control plane health");
        _processes.Add(TestProcess.StartDotnet(RepoPaths.HostDll,
        [
            "agent", "--server", url, "--join-token-file", Path.Combine(cpDir, "join.token"), "--name", "node-1",
            "--data-dir", Path.Combine(_dir, "node-1"), "--ports", "55000-55999",
        ]));
        var env = new Dictionary<string, string> { ["VCLUSTER_SERVER"] = url, ["VCLUSTER_TOKEN"] = adminToken, ["VCLUSTER_CONFIG"] = Path.Combine(_dir, "none.json") };
        await Wait.UntilAsync(async () => (await api.StatusAsync()).Nodes.Count(n => n.Node.State == NodeState.Alive) == 1, TimeSpan.FromSeconds(60), "the agent to join");
        var (code, text) = await CliRunner.RunAsync(env, "deploy", RepoPaths.HelloSpec);
        Assert.True(code == 0, text);
        await api.WaitRunningAsync("hello", TimeSpan.FromSeconds(60));

        // Points come every 10 s; all but the last (the bucket being filled) were written by an earlier step's flush.
        HistoryResponse before = null!;
        await Wait.UntilAsync(async () => (before = await HistoryAsync(api, "nodes/node-1/instances")).Points.Count(p => p.Average >= 1) >= 2,
            TimeSpan.FromSeconds(120), "two history points of node-1 running hello");
        Assert.Equal("10s", before.Resolution);
        await Wait.UntilAsync(async () => (await HistoryAsync(api, "services/hello/running")).Points.Any(p => p.Average >= 1),
            TimeSpan.FromSeconds(60), "a history point of hello running");

        controlPlane.Signal(9);
        await controlPlane.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var restartedAt = DateTimeOffset.UtcNow;
        StartControlPlane(cpDir, url);
        await Wait.UntilAsync(api.HealthyAsync, TimeSpan.FromSeconds(60), "restarted control plane health");

        var after = await HistoryAsync(api, "nodes/node-1/instances");
        foreach (var point in before.Points.SkipLast(1))
            Assert.Contains(after.Points, p => p.At == point.At && p.Average == point.Average);
        // positive control: the restarted control plane records too (it leads, and samples the node again)
        await Wait.UntilAsync(async () => (await HistoryAsync(api, "nodes/node-1/instances")).Points.Any(p => p.At > restartedAt.AddSeconds(1)),
            TimeSpan.FromSeconds(60), "a history point recorded after the restart");

        // the CLI draws it; bad queries name what is wrong
        (code, text) = await CliRunner.RunAsync(env, "history", "node", "node-1", "instances", "--range", "10m");
        Assert.True(code == 0, text);
        Assert.Contains("node/node-1 instances", text);
        (code, text) = await CliRunner.RunAsync(env, "history", "node", "node-1", "bogus");
        Assert.NotEqual(0, code);
        Assert.Contains("metric \"bogus\" is not kept for a node", text);
        foreach (var (query, expected) in new[]
        {
            ("nodes/node-1/cpu?step=0s", "step is 0 s"),
            ("nodes/node-1/cpu?range=90d", "history is kept for 31 days"),
            ("nodes/node-1/cpu?range=1d&step=1s", "at most 11000 are answered"),
            ("nodes/node-1/cpu?range=soon", "range must be a duration"),
            ("nodes/node-1/cpu?limit=3", "unknown parameter \"limit\""),
        })
        {
            using var response = await api.Http.GetAsync($"/v1/metrics/{query}");
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(expected, (await response.Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options))!.Error);
        }
        using (var missing = await api.Http.GetAsync("/v1/metrics/nodes/node-9/cpu"))
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    private static async Task<HistoryResponse> HistoryAsync(ApiClient api, string path) =>
        (await api.Http.GetFromJsonAsync<HistoryResponse>($"/v1/metrics/{path}?range=10m&step=10s", VirtualClusterJson.Options))!;

    private TestProcess StartControlPlane(string dir, string url)
    {
        var process = TestProcess.StartDotnet(RepoPaths.HostDll, ["control-plane", "--data-dir", dir, "--listen", url, "--history-flush", "1"]);
        _processes.Add(process);
        return process;
    }

    private static async Task<string> ReadTokenAsync(string path)
    {
        await Wait.UntilAsync(() => Task.FromResult(File.Exists(path)), TimeSpan.FromSeconds(60), path);
        return (await File.ReadAllTextAsync(path)).Trim();
    }

    public void Dispose()
    {
        foreach (var p in Enumerable.Reverse(_processes)) p.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
