using System.Net;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Tests;

/// <summary><c>vcluster status</c> and <c>services</c> show replicated volumes: holder, last sync, lag, bytes behind, error.</summary>
public sealed class ReplicaTableTests
{
    private readonly FakeControlPlaneHandler _handler = new();

    private static ServiceView Journal(DateTimeOffset now)
    {
        var instance = TestData.Instance("journal-aaaa1111", "journal", "node-1", InstanceState.Running) with
        {
            Replicas =
            [
                new ReplicaView("data", "node-2", 42, now - TimeSpan.FromSeconds(3), 0.4, 2048),
                new ReplicaView("data", "node-3", 0, null, 7.5, 1 << 20, "the replica holder refused: disk full"),
            ],
        };
        return TestData.Service("journal", 1, instance);
    }

    [Fact]
    public async Task Status_prints_each_replica_with_its_last_sync_and_lag()
    {
        _handler.Respond(HttpMethod.Get, "/v1/status", HttpStatusCode.OK, new ClusterStatus([TestData.Node("node-1")], [Journal(DateTimeOffset.UtcNow)]));

        var result = await Cli.RunAsync(_handler, "status");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Replicated volumes", result.Out);
        foreach (var cell in new[] { "journal-aaaa1111", "node-2", "#42 at", "0.4 s", "2 KiB", "node-3", "none yet", "7.5 s", "1 MiB", "disk full" })
            Assert.Contains(cell, result.Out);
    }

    [Fact]
    public async Task Services_prints_the_replica_table_only_when_there_are_replicas()
    {
        _handler.Respond(HttpMethod.Get, "/v1/services", HttpStatusCode.OK, new[] { Journal(DateTimeOffset.UtcNow) });
        var result = await Cli.RunAsync(_handler, "services");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("#42 at", result.Out);

        var plain = new FakeControlPlaneHandler();
        plain.Respond(HttpMethod.Get, "/v1/services", HttpStatusCode.OK, new[] { TestData.Service("hello", 1, TestData.Instance("hello-1", "hello", "node-1", InstanceState.Running)) });
        var without = await Cli.RunAsync(plain, "services");
        Assert.True(without.ExitCode == 0, without.ToString());
        Assert.DoesNotContain("LAST SYNC", without.Out);
    }
}
