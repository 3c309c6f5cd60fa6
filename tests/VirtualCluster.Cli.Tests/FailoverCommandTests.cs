using System.Net;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Tests;

/// <summary>drain, events and the pending-work part of status, against the fake control plane.</summary>
public sealed class FailoverCommandTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-03-01T12:00:00Z");
    private readonly FakeControlPlaneHandler _handler = new();

    private static DrainStatus Drain(bool complete, params (string Id, string Status)[] items) =>
        new("node-2", complete, items.Select(i => new DrainItem(i.Id, "web", i.Status, i.Status == "blocked" ? "failover \"never\"" : "web-new is starting on node-1")).ToList());

    [Fact]
    public async Task Drain_starts_waits_until_complete_and_shows_what_stays()
    {
        _handler.Respond(HttpMethod.Post, "/v1/nodes/node-2/drain", HttpStatusCode.Accepted, Drain(false, ("web-a", "queued"), ("db-a", "blocked")));
        _handler.Respond(HttpMethod.Get, "/v1/nodes/node-2/drain", HttpStatusCode.OK, Drain(false, ("web-a", "moving"), ("db-a", "blocked")));
        _handler.Respond(HttpMethod.Get, "/v1/nodes/node-2/drain", HttpStatusCode.OK, Drain(true, ("db-a", "blocked")));

        var result = await Cli.RunAsync(_handler, "drain", "node-2");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("draining node-2: 2 instance(s) on it", result.Out);
        Assert.Contains("1 blocked, 1 moving", result.Out);
        Assert.Contains("db-a", result.Out);
        Assert.Contains("node-2 is drained except 1 instance(s) with failover \"never\", which stay", result.Out);
    }

    [Fact]
    public async Task Drain_no_wait_cancel_and_errors()
    {
        _handler.Respond(HttpMethod.Post, "/v1/nodes/node-2/drain", HttpStatusCode.Accepted, Drain(false, ("web-a", "queued")));
        var started = await Cli.RunAsync(_handler, "drain", "node-2", "--no-wait");
        Assert.Equal(0, started.ExitCode);
        Assert.Single(_handler.Requests);

        _handler.Respond(HttpMethod.Delete, "/v1/nodes/node-2/drain", HttpStatusCode.OK, Drain(true));
        var cancelled = await Cli.RunAsync(_handler, "drain", "node-2", "--cancel");
        Assert.Equal(0, cancelled.ExitCode);
        Assert.Contains("drain of node-2 cancelled", cancelled.Out);

        _handler.Respond(HttpMethod.Post, "/v1/nodes/nope/drain", HttpStatusCode.NotFound, new ApiError("no node named \"nope\"; `vcluster nodes` lists them"));
        var missing = await Cli.RunAsync(_handler, "drain", "nope");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no node named \"nope\"", missing.Err);

        var usage = await Cli.RunAsync(_handler, "drain", "node-2", "--cancel", "--no-wait");
        Assert.Equal(2, usage.ExitCode);
    }

    private static ClusterEvent E(long seq, double seconds, string kind, string subject, string message, string? instance = null, string? node = null, string? incident = null) =>
        new(seq, T0.AddSeconds(seconds), kind, subject, message, kind.StartsWith("node.") ? null : "web", node, instance, incident);

    [Fact]
    public async Task Events_passes_the_filters_and_prints_one_line_per_event_with_the_newest_last()
    {
        var events = Enumerable.Range(1, 5).Select(i => E(i, i, "instance.running", "web", $"message {i}")).ToArray();
        _handler.Respond(HttpMethod.Get, "/v1/events?after=0&limit=1000&node=node-1&kind=instance", HttpStatusCode.OK, events);

        var result = await Cli.RunAsync(_handler, "events", "--node", "node-1", "--kind", "instance", "--limit", "2");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("2026-03-01T12:00:04.000Z  instance.running", lines[0]);
        Assert.EndsWith("message 5", lines[1]);
    }

    [Fact]
    public async Task Events_for_a_service_end_with_its_failover_timeline()
    {
        _handler.Respond(HttpMethod.Get, "/v1/events?after=0&limit=1000&service=web", HttpStatusCode.OK, new[]
        {
            E(2, 0.1, "instance.lost", "web", "web-a lost: node node-2 is down", "web-a", "node-2", "inc-1"),
            E(3, 0.2, "instance.placed", "web", "web-b placed on node-1", "web-b", "node-1", "inc-1"),
            E(4, 0.9, "instance.starting", "web", "web-b on node-1 is starting", "web-b", "node-1", "inc-1"),
            E(5, 2.2, "instance.running", "web", "web-b on node-1 is running", "web-b", "node-1", "inc-1"),
        });
        _handler.Respond(HttpMethod.Get, "/v1/events?after=0&limit=1000&incident=inc-1", HttpStatusCode.OK, new[]
        {
            new ClusterEvent(1, T0, "node.down", "node-2", "node-2 is down: no heartbeat for 3.1 s (φ 8.2)", Node: "node-2", Incident: "inc-1"),
            E(2, 0.1, "instance.lost", "web", "web-a lost", "web-a", "node-2", "inc-1"),
            E(3, 0.2, "instance.placed", "web", "web-b placed on node-1", "web-b", "node-1", "inc-1"),
            E(4, 0.9, "instance.starting", "web", "starting", "web-b", "node-1", "inc-1"),
            E(5, 2.2, "instance.running", "web", "running", "web-b", "node-1", "inc-1"),
        });

        var result = await Cli.RunAsync(_handler, "events", "--service", "web");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Failover timeline of web", result.Out);
        Assert.Contains("inc-1  node.down node-2, detected 12:00:00.000Z: node-2 is down: no heartbeat for 3.1 s", result.Out);
        Assert.Contains("web-b on node-1: placed +0.20s → started +0.90s → healthy +2.20s", result.Out);
        Assert.Contains("recovered +2.20s after detection", result.Out);
    }

    [Fact]
    public async Task Events_since_takes_a_duration_or_a_time_and_rejects_anything_else()
    {
        _handler.Respond(HttpMethod.Get, "/v1/events?after=0&limit=1000&since=2026-01-02T15%3A04%3A05.0000000%2B00%3A00", HttpStatusCode.OK, Array.Empty<ClusterEvent>());
        var at = await Cli.RunAsync(_handler, "events", "--since", "2026-01-02T15:04:05Z");
        Assert.True(at.ExitCode == 0, at.ToString());
        Assert.Contains("no matching events", at.Out);

        var bad = await Cli.RunAsync(_handler, "events", "--since", "last tuesday");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("invalid --since 'last tuesday'", bad.Err);
        Assert.Equal(2, (await Cli.RunAsync(_handler, "events", "--limit", "0")).ExitCode);
    }

    [Fact]
    public async Task Events_json_is_the_api_shape()
    {
        _handler.Respond(HttpMethod.Get, "/v1/events?after=0&limit=1000", HttpStatusCode.OK, new[] { E(1, 0, "node.down", "node-2", "down", node: "node-2", incident: "inc-9") });
        var result = await Cli.RunAsync(_handler, "events", "-o", "json");
        var parsed = System.Text.Json.JsonSerializer.Deserialize<ClusterEvent[]>(result.Out, VirtualClusterJson.Options)!;
        Assert.Equal("inc-9", Assert.Single(parsed).Incident);
    }

    [Fact]
    public async Task Status_lists_pending_work_and_why()
    {
        var service = TestData.Service("web", 2, TestData.Instance("web-a", "web", "node-1", InstanceState.Running)) with
        {
            Pending = [new PendingWork("placement", 1, "memory: needs 2 GiB, largest free 1 GiB on node-1", 3, DateTimeOffset.UtcNow.AddSeconds(30))],
        };
        _handler.Respond(HttpMethod.Get, "/v1/status", HttpStatusCode.OK, new ClusterStatus([TestData.Node("node-1"), TestData.Node("node-2", NodeState.Draining)], [service]));

        var result = await Cli.RunAsync(_handler, "status");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("draining", result.Out);
        Assert.Contains("Pending work", result.Out);
        Assert.Contains("web: 1 instance(s) waiting for room (attempt 3, next in ", result.Out);
        Assert.Contains("memory: needs 2 GiB", result.Out);
    }
}
