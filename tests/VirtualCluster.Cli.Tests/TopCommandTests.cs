using System.Net;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Tests;

/// <summary><c>vcluster top</c> against a fake control plane: sorting, limits, redraws, JSON and bad flags.</summary>
public sealed class TopCommandTests
{
    private readonly FakeControlPlaneHandler _handler = new();

    private static NodeView Busy(string name, long cpuUsed, int instances)
    {
        var node = TestData.Node(name, instances: instances);
        return node with { Node = node.Node with { Usage = node.Node.Usage with { CpuMillicores = cpuUsed } } };
    }

    private static ClusterStatus Status() => new(
        [Busy("node-1", 400, 1), Busy("node-2", 3600, 3), Busy("node-3", 2000, 5)],
        [
            TestData.Service("web", 2, TestData.Instance("web-1", "web", "node-2", InstanceState.Running), TestData.Instance("web-2", "web", "node-3", InstanceState.Running)),
            TestData.Service("db", 1, TestData.Instance("db-1", "db", "node-1", InstanceState.Running)),
        ]);

    [Fact]
    public async Task Nodes_are_sorted_by_measured_cpu_and_redrawn_the_given_number_of_times()
    {
        _handler.Respond(HttpMethod.Get, "/v1/status", HttpStatusCode.OK, Status());

        var result = await Cli.RunAsync(_handler, "top", "--count", "2", "--interval", "100ms");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(2, _handler.Requests.Count(r => r.PathAndQuery == "/v1/status"));
        Assert.Equal(2, result.Out.Split("vcluster top nodes at").Length - 1);
        var view = result.Out[result.Out.LastIndexOf("vcluster top nodes at", StringComparison.Ordinal)..];
        Assert.True(view.IndexOf("node-2", StringComparison.Ordinal) < view.IndexOf("node-3", StringComparison.Ordinal)
            && view.IndexOf("node-3", StringComparison.Ordinal) < view.IndexOf("node-1", StringComparison.Ordinal), view);
        Assert.Contains("90%", view); // node-2: 3600m of 4000m
        Assert.Contains("nodes 3 alive of 3", view);
    }

    [Fact]
    public async Task Services_sort_by_what_they_reserve_and_json_honours_the_limit()
    {
        _handler.Respond(HttpMethod.Get, "/v1/status", HttpStatusCode.OK, Status());

        var table = await Cli.RunAsync(_handler, "top", "services", "--count", "1");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.True(table.Out.IndexOf("web", StringComparison.Ordinal) < table.Out.IndexOf("db", StringComparison.Ordinal), table.Out);
        Assert.Contains("node-2,node-3", table.Out);
        Assert.Contains("500m", table.Out); // 2 running x 250m

        var json = await Cli.RunAsync(_handler, "top", "nodes", "--sort", "instances", "--limit", "1", "--count", "1", "-o", "json");
        Assert.True(json.ExitCode == 0, json.ToString());
        Assert.Contains("node-3", json.Out);
        Assert.DoesNotContain("node-2", json.Out);
    }

    [Fact]
    public async Task Services_with_measured_usage_sort_by_it_and_show_it_beside_what_they_reserve()
    {
        var status = Status();
        // db reserves less than web but uses more: measured use decides the order (web above db in the test before is the control).
        var db = status.Services.Single(s => s.Spec.Name == "db");
        var web = status.Services.Single(s => s.Spec.Name == "web");
        ServiceView Measured(ServiceView s, long cpu, long memory) =>
            s with { Instances = [.. s.Instances.Select(i => i with { Usage = new InstanceUsage(cpu, memory) })] };
        _handler.Respond(HttpMethod.Get, "/v1/status", HttpStatusCode.OK,
            status with { Services = [Measured(web, 10, 64L << 20), Measured(db, 900, 512L << 20)] });

        var table = await Cli.RunAsync(_handler, "top", "services", "--count", "1");

        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("CPU USED", table.Out);
        Assert.True(table.Out.IndexOf("db", StringComparison.Ordinal) < table.Out.IndexOf("web", StringComparison.Ordinal), table.Out);
        Assert.Contains("900m", table.Out);
        Assert.Contains("20m", table.Out); // web: 2 instances x 10m
    }

    [Theory]
    [InlineData(new[] { "top", "nodes", "--sort", "restarts" }, "--sort restarts does not apply to nodes")]
    [InlineData(new[] { "top", "--interval", "soon" }, "--interval \"soon\" is not a duration")]
    [InlineData(new[] { "top", "--limit", "-1" }, "--limit must be 0")]
    [InlineData(new[] { "top", "--count", "-2" }, "--count must be 0")]
    public async Task Bad_flags_are_refused_before_any_request(string[] args, string expected)
    {
        var result = await Cli.RunAsync(_handler, args);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Err);
        Assert.Empty(_handler.Requests);
    }
}
