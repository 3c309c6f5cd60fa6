using System.Net;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Tests;

/// <summary><c>vcluster status --watch</c> and <c>vcluster history</c> against a fake control plane (the real history: IntegrationTests' HistoryRestartTests).</summary>
public sealed class StatusWatchTests
{
    private readonly FakeControlPlaneHandler _handler = new();

    private static ClusterStatus Status() => new([TestData.Node("node-1")], []);

    private static HistoryResponse History(string metric, params double[] values)
    {
        var start = DateTimeOffset.Parse("2031-01-01T10:00:00Z");
        return new HistoryResponse("node/node-1", metric, start, start.AddMinutes(10), 20, "10s",
            [.. values.Select((v, i) => new HistoryPoint(start.AddSeconds(20 * i), v, v))]);
    }

    [Fact]
    public async Task Watch_redraws_the_given_number_of_times_with_each_nodes_sparklines()
    {
        _handler.Respond(HttpMethod.Get, "/v1/status", HttpStatusCode.OK, Status());
        _handler.Respond(HttpMethod.Get, "/v1/metrics/nodes/node-1/cpu?range=10m&step=20s", HttpStatusCode.OK, History("cpu", 0, 0.5, 1, 0.25));
        _handler.Respond(HttpMethod.Get, "/v1/metrics/nodes/node-1/memory?range=10m&step=20s", HttpStatusCode.OK, History("memory", 0.5, 0.5));

        var result = await Cli.RunAsync(_handler, "status", "--watch", "--count", "2", "--interval", "100ms");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(2, _handler.Requests.Count(r => r.PathAndQuery == "/v1/status"));
        Assert.Equal(2, result.Out.Split("vcluster status at").Length - 1);
        Assert.Contains("cpu ▁▅█▃ 25%", result.Out);
        Assert.Contains("memory ▅▅ 50%", result.Out);
        Assert.DoesNotContain("\u001b[", result.Out); // a pipe gets one view after another, no screen clearing
    }

    [Fact]
    public async Task Watch_without_history_on_the_server_still_draws_the_tables()
    {
        _handler.Respond(HttpMethod.Get, "/v1/status", HttpStatusCode.OK, Status());

        var result = await Cli.RunAsync(_handler, "status", "--watch", "--count", "1", "--interval", "100ms");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("node-1", result.Out);
        Assert.DoesNotContain("Last 10 minutes", result.Out);
    }

    [Theory]
    [InlineData("--interval", "soon", "--interval \"soon\" is not a duration")]
    [InlineData("--interval", "10ms", "at least 100ms")]
    [InlineData("--count", "-1", "--count must be 0")]
    public async Task Bad_watch_flags_are_refused_before_any_request(string flag, string value, string expected)
    {
        var result = await Cli.RunAsync(_handler, "status", "--watch", flag, value);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(expected, result.Err);
        Assert.Empty(_handler.Requests);
    }

    [Fact]
    public async Task History_draws_a_sparkline_with_min_avg_max_and_last()
    {
        _handler.Respond(HttpMethod.Get, "/v1/metrics/nodes/node-1/cpu?range=1h", HttpStatusCode.OK, History("cpu", 0.1, 0.3, 0.2));

        var result = await Cli.RunAsync(_handler, "history", "node", "node-1");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("node/node-1 cpu", result.Out);
        Assert.Contains("▁█▅", result.Out);
        Assert.Contains("min 10%  avg 20%  max 30%  last 20%  (3 points)", result.Out);
    }

    [Fact]
    public async Task History_of_an_unknown_kind_is_refused_by_the_parser()
    {
        var result = await Cli.RunAsync(_handler, "history", "cluster", "x");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Empty(_handler.Requests);
    }
}
