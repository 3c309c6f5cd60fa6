using System.Net;
using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.Scheduling;

namespace VirtualCluster.Cli.Tests;

public sealed class SchedulingCommandTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeControlPlaneHandler _handler = new();

    private static NodeScore Score(string node, double total) =>
        new($"{node}-id", node, total, new Dictionary<string, double> { ["most-allocated"] = 62.5, ["balanced"] = 90 });

    private static ServiceExplanation Explanation(PlacementFailure? failure = null) => new("hello",
        [new InstanceScore("hello-aaaa1111", "node-1", InstanceState.Running, Score("node-1", 71.7), Score("node-1", 70.2))],
        new PlacementExplanation("binpack", 3, failure is null ? 2 : 0,
            [new FilterOutcome("resources", 1, new Dictionary<string, int> { ["memory"] = 1 })],
            failure is null ? [Score("node-2", 55.5), Score("node-3", 40)] : [],
            failure));

    [Fact]
    public async Task Explain_prints_instances_filters_and_the_ranking()
    {
        _handler.Respond(HttpMethod.Get, "/v1/services/hello/explain", HttpStatusCode.OK, Explanation());

        var result = await Cli.RunAsync(_handler, "explain", "hello");

        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var text in new[] { "strategy binpack", "hello-aaaa1111", "71.7", "70.2", "balanced 90.0", "2 of 3 node(s) pass every filter",
                     "memory: 1", "It would go to node-2 (score 55.5)", "MOST-ALLOCATED", "62.5" })
            Assert.Contains(text, result.Out);
    }

    [Fact]
    public async Task Explain_prints_why_one_more_would_not_fit_and_json_parses_back()
    {
        var failure = new PlacementFailure("cannot place 1 instance(s) of \"hello\": memory exhausted on 3 of 3 nodes", 3, []);
        _handler.Respond(HttpMethod.Get, "/v1/services/hello/explain", HttpStatusCode.OK, Explanation(failure));

        var table = await Cli.RunAsync(_handler, "explain", "hello");
        var json = await Cli.RunAsync(_handler, "explain", "hello", "-o", "json");

        Assert.Equal(0, table.ExitCode);
        Assert.Contains("memory exhausted on 3 of 3 nodes", table.Out);
        var parsed = JsonSerializer.Deserialize<ServiceExplanation>(json.Out, VirtualClusterJson.Options)!;
        Assert.Equal("hello-aaaa1111", parsed.Instances[0].InstanceId);
        Assert.Equal(70.2, parsed.Instances[0].Current!.Total);
    }

    [Fact]
    public async Task Explain_of_an_unknown_service_fails_with_the_server_message()
    {
        _handler.Respond(HttpMethod.Get, "/v1/services/nope/explain", HttpStatusCode.NotFound, new ApiError("no service named \"nope\""));
        var result = await Cli.RunAsync(_handler, "explain", "nope");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no service named \"nope\"", result.Err);
    }

    private static RebalanceResponse Plan(bool applied) => new(
        new RebalancePlan([new RebalanceMove("hello-aaaa1111", "hello", "node-1-id", "node-1", "node-3-id", "node-3", 0.0123)], 0.05, 0.0377, 5,
            "1 move(s) lower the imbalance from 0.0500 to 0.0377"),
        applied, applied ? ["hello-cccc3333"] : []);

    [Fact]
    public async Task Rebalance_dry_run_shows_the_plan_and_sends_the_budget()
    {
        _handler.Respond(HttpMethod.Post, "/v1/rebalance", HttpStatusCode.OK, Plan(applied: false));

        var result = await Cli.RunAsync(_handler, "rebalance", "--dry-run", "--max-moves", "3");

        Assert.True(result.ExitCode == 0, result.ToString());
        var body = JsonSerializer.Deserialize<RebalanceRequest>(Assert.Single(_handler.Requests).Body!, VirtualClusterJson.Options)!;
        Assert.True(body.DryRun);
        Assert.Equal(3, body.MaxMoves);
        foreach (var text in new[] { "1 move(s) lower the imbalance", "hello-aaaa1111", "node-1", "node-3", "0.0123", "dry run: nothing was moved" })
            Assert.Contains(text, result.Out);
    }

    [Fact]
    public async Task Rebalance_applies_by_default_and_lists_the_new_instances()
    {
        _handler.Respond(HttpMethod.Post, "/v1/rebalance", HttpStatusCode.OK, Plan(applied: true));

        var result = await Cli.RunAsync(_handler, "rebalance");

        Assert.Equal(0, result.ExitCode);
        var body = JsonSerializer.Deserialize<RebalanceRequest>(Assert.Single(_handler.Requests).Body!, VirtualClusterJson.Options)!;
        Assert.False(body.DryRun);
        Assert.Equal(5, body.MaxMoves);
        Assert.Contains("started 1 move(s): new instances hello-cccc3333", result.Out);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("101")]
    [InlineData("many")]
    public async Task Rebalance_rejects_a_bad_budget_before_calling(string moves)
    {
        var result = await Cli.RunAsync(_handler, "rebalance", "--max-moves", moves);
        Assert.Equal(2, result.ExitCode);
        Assert.Empty(_handler.Requests);
    }

    private static RebalanceResponse Consolidation(bool applied, IReadOnlyList<string>? deferred = null) => new(
        new RebalancePlan([new RebalanceMove("hello-aaaa1111", "hello", "node-2-id", "node-2", "node-1-id", "node-1", -0.02),
                           new RebalanceMove("hello-bbbb2222", "hello", "node-3-id", "node-3", "node-1-id", "node-1", -0.01)], 0.01, 0.04, 5,
            "2 move(s) free 2 node(s): 3 in use before, 1 after", ["node-2", "node-3"]),
        applied, applied ? ["hello-cccc3333"] : [], deferred);

    [Fact]
    public async Task Rebalance_consolidate_only_shows_the_nodes_it_would_free_unless_applied()
    {
        _handler.Respond(HttpMethod.Post, "/v1/rebalance", HttpStatusCode.OK, Consolidation(applied: false));

        var result = await Cli.RunAsync(_handler, "rebalance", "--consolidate", "--max-moves", "10");

        Assert.True(result.ExitCode == 0, result.ToString());
        var body = JsonSerializer.Deserialize<RebalanceRequest>(Assert.Single(_handler.Requests).Body!, VirtualClusterJson.Options)!;
        Assert.True(body.Consolidate);
        Assert.True(body.DryRun);
        Assert.Equal(10, body.MaxMoves);
        foreach (var text in new[] { "2 move(s) free 2 node(s)", "nodes freed: node-2, node-3", "hello-aaaa1111", "hello-bbbb2222", "add --apply" })
            Assert.Contains(text, result.Out);
    }

    [Fact]
    public async Task Rebalance_consolidate_apply_starts_the_moves_and_says_which_wait()
    {
        _handler.Respond(HttpMethod.Post, "/v1/rebalance", HttpStatusCode.OK, Consolidation(applied: true, deferred: ["hello-bbbb2222"]));

        var result = await Cli.RunAsync(_handler, "rebalance", "--consolidate", "--apply");

        Assert.True(result.ExitCode == 0, result.ToString());
        var body = JsonSerializer.Deserialize<RebalanceRequest>(Assert.Single(_handler.Requests).Body!, VirtualClusterJson.Options)!;
        Assert.True(body.Consolidate);
        Assert.False(body.DryRun);
        Assert.Equal(5, body.MaxMoves);
        Assert.Contains("started 1 move(s): new instances hello-cccc3333", result.Out);
        Assert.Contains("1 move(s) wait for room that the started moves free (hello-bbbb2222); run the same command again", result.Out);
    }

    [Fact]
    public async Task Rebalance_rejects_apply_with_dry_run_before_calling()
    {
        var result = await Cli.RunAsync(_handler, "rebalance", "--consolidate", "--apply", "--dry-run");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--apply and --dry-run cannot be combined", result.Err);
        Assert.Empty(_handler.Requests);
    }

    [Theory]
    [InlineData("101")]
    [InlineData("-5")]
    [InlineData("ten")]
    public async Task Rebalance_consolidate_rejects_a_bad_budget_before_calling(string moves)
    {
        var result = await Cli.RunAsync(_handler, "rebalance", "--consolidate", "--max-moves", moves);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--max-moves", result.Err);
        Assert.Empty(_handler.Requests);
    }

    [Fact]
    public async Task Status_shows_the_capacity_forecast_and_fits()
    {
        var memory = new ResourceForecast("memory", 8L << 30, 6L << 30, 1L << 30, Now.AddHours(2), 2L << 30, ForecastTrend.Rising, 0.5 * (1L << 30), 1.5 * (1L << 30));
        var capacity = new CapacityReport(Now,
            [memory, new ResourceForecast("cpu", 4000, 1000, 3, null, 1500, ForecastTrend.NoClearTrend, -20, 25),
             new ResourceForecast("disk", 100L << 30, 10L << 30, 0, null, 0, ForecastTrend.NotEnoughHistory, MoreHistoryNeeded: TimeSpan.FromSeconds(390)),
             new ResourceForecast("gpus", 0, 0, 0, null)],
            [new NodeForecast("node-1-id", "node-1", 12, [memory])],
            [new FitEstimate("hello", 14, 1000), new FitEstimate("big", 1000, 1000)]);
        _handler.Respond(HttpMethod.Get, "/v1/status", HttpStatusCode.OK, new ClusterStatus([TestData.Node("node-1")], [], capacity));

        var result = await Cli.RunAsync(_handler, "status");

        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var text in new[] { "Capacity", "ALLOCATED", "USED", "cluster", "memory", "2 GiB", "+1 GiB", "in 120m (2026-01-01 14:00 UTC)",
                     "no clear trend", "not at this trend", "not enough history yet, 7 more minutes",
                     "More instances that fit now: hello +14, big +1000 or more" })
            Assert.Contains(text, result.Out);
        Assert.DoesNotContain("gpus", result.Out);
    }

    [Fact]
    public async Task Status_and_nodes_say_which_nodes_share_one_machine()
    {
        static NodeView Shared(string name, string part) => TestData.Node(name) is var v
            ? v with { Node = v.Node with { Labels = new Dictionary<string, string> { [NodeLabels.MachineShare] = part, [NodeLabels.Machine] = "box" } } }
            : v;
        var nodes = new[] { Shared("node-2", "2/3"), Shared("node-1", "1/3"), Shared("node-3", "3/3"), TestData.Node("other") };
        _handler.Respond(HttpMethod.Get, "/v1/status", HttpStatusCode.OK, new ClusterStatus(nodes, []));
        _handler.Respond(HttpMethod.Get, "/v1/nodes", HttpStatusCode.OK, nodes);

        var status = await Cli.RunAsync(_handler, "status");
        var list = await Cli.RunAsync(_handler, "nodes");

        foreach (var result in new[] { status, list })
        {
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains("node-1, node-2, node-3 share one machine (box): each reports 1/3 of its CPU, memory and disk", result.Out);
            Assert.DoesNotContain("other share", result.Out);
        }
        Assert.Contains("used: measured by the agents", status.Out);
    }

    [Fact]
    public async Task Deploy_failure_prints_the_filters_table()
    {
        using var home = new TempDirectory();
        var spec = home.File("web.json", """{"name": "web", "command": "dotnet"}""");
        var failure = new PlacementFailure("cannot place 1 instance(s) of \"web\": constraint zone=eu on 2 of 2 nodes", 2,
            [new ResourceShortfall("constraint", 0, 0, null, 2)],
            [new FilterOutcome("constraints", 2, new Dictionary<string, int> { ["constraint zone=eu"] = 2 })]);
        _handler.Respond(HttpMethod.Post, "/v1/services", (HttpStatusCode)422, new ApiError(failure.Message, Placement: failure));

        var result = await Cli.RunAsync(_handler, Cli.Environment(home), "deploy", spec);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("constraint zone=eu on 2 of 2 nodes", result.Err);
        Assert.Contains("NODES REMOVED", result.Err);
        Assert.Contains("constraint zone=eu: 2", result.Err);
    }
}
