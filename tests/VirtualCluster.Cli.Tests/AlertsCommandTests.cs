using System.Net;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Tests;

/// <summary><c>vcluster alerts</c> against a fake control plane (the real rules and notifications: IntegrationTests' AlertTests).</summary>
public sealed class AlertsCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeControlPlaneHandler _handler = new();

    public void Dispose() => _dir.Dispose();

    private Task<CliResult> Run(params string[] args) => Cli.RunAsync(_handler, Cli.Environment(_dir), args);

    [Fact]
    public async Task Alerts_lists_firing_then_resolved_and_says_when_there_are_none()
    {
        var labels = new Dictionary<string, string> { ["alertname"] = "NodeDown", ["node"] = "node-1", ["severity"] = "critical" };
        _handler.Respond(HttpMethod.Get, "/v1/alerts", HttpStatusCode.OK, new AlertsResponse(
            [new AlertView("NodeDown", "critical", "firing", labels, "Node node-1 is down", "No heartbeat.", DateTimeOffset.Parse("2031-01-01T10:00:00Z"), null)],
            [new AlertView("ServiceDegraded", "warning", "resolved", labels, "Service web runs 1 of 3 instances", "", DateTimeOffset.Parse("2031-01-01T09:00:00Z"), DateTimeOffset.Parse("2031-01-01T09:05:00Z"))]));

        var result = await Run("alerts");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Node node-1 is down", result.Out);
        Assert.Contains("2031-01-01 09:05:00 UTC", result.Out);
        Assert.True(result.Out.IndexOf("NodeDown", StringComparison.Ordinal) < result.Out.IndexOf("ServiceDegraded", StringComparison.Ordinal));
        Assert.Contains("1 firing, 1 resolved lately", result.Out);
    }

    [Fact]
    public async Task No_alerts_is_said_in_words()
    {
        _handler.Respond(HttpMethod.Get, "/v1/alerts", HttpStatusCode.OK, new AlertsResponse([], []));

        var result = await Run("alerts");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("no alerts", result.Out);
    }
}
