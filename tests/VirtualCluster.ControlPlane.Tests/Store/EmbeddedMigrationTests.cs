using VirtualCluster.Security;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Store;
using VirtualCluster.Runtime;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Tests.Store;

/// <summary>
/// A data directory written by the release before the one-store change (Fixtures/embedded-v2: its SQLite cluster
/// store, token files, and what that store returned) opens with nothing lost.
/// </summary>
public sealed class EmbeddedMigrationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vc-migration-").FullName;

    public EmbeddedMigrationTests()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "embedded-v2")))
            File.Copy(file, Path.Combine(_directory, Path.GetFileName(file)));
    }

    private Expected Fixture => JsonSerializer.Deserialize<Expected>(File.ReadAllText(Path.Combine(_directory, "expected.json")), VirtualClusterJson.Options)!;

    [Fact]
    public async Task Services_nodes_instances_events_logs_and_settings_survive_and_epochs_continue_above_the_old_ones()
    {
        var expected = Fixture;
        Assert.NotEmpty(expected.Instances); // the fixture holds something to lose

        await using (var state = await EmbeddedClusterState.OpenAsync(_directory))
        {
            var store = state.Store;
            AssertSameJson(expected.Nodes, await store.ListNodesAsync());
            AssertSameJson(expected.Services, await store.ListServicesAsync());
            AssertSameJson(expected.Instances, await store.ListInstancesAsync());
            AssertSameJson(expected.Events, await store.ListEventsAsync(0, 10_000));
            foreach (var (instance, lines) in expected.Logs) AssertSameJson(lines, await store.ReadLogsAsync(instance, 0, 100));
            foreach (var (key, value) in expected.Settings) Assert.Equal(value, await store.GetSettingAsync(key));
            foreach (var node in expected.Nodes)
                AssertSameJson(expected.Instances.Where(i => i.NodeId == node.Id), await store.ListInstancesAsync(nodeId: node.Id));

            Assert.True(await store.NextEpochAsync() > expected.LastEpoch);
            var next = await store.AppendEventAsync(new ClusterEvent(0, DateTimeOffset.UtcNow, "node.joined", "delta", "after the import"));
            Assert.Equal(expected.Events.Max(e => e.Sequence) + 1, next.Sequence);
            // The credentials load from the imported settings; the never-expiring admin token of the
            // old HMAC key is issued again with the cluster's new ES256 key.
            var (_, tokens, credentials) = await Keys.ClusterKeys.StartAsync(store, _directory, new FakeTimeProvider(DateTimeOffset.UtcNow));
            Assert.NotEqual(expected.Settings["admin-token"], credentials.AdminToken);
            Assert.Equal(TokenRoles.Admin, (await tokens.ValidateAsync(credentials.AdminToken)).Principal?.Role);
        }
        Assert.False(File.Exists(Path.Combine(_directory, "cluster.db")));
        Assert.True(File.Exists(Path.Combine(_directory, "cluster.db.imported")));

        // Opening again neither imports again nor loses what came after the import.
        await using var reopened = await EmbeddedClusterState.OpenAsync(_directory);
        Assert.Equal(expected.Events.Count + 1, (await reopened.Store.ListEventsAsync(0, 10_000)).Count);
        AssertSameJson(expected.Instances, await reopened.Store.ListInstancesAsync());
    }

    [Fact]
    public async Task An_import_interrupted_before_its_marker_runs_again_to_the_same_result()
    {
        var expected = Fixture;
        // First run imports; put the old file back as if the process died before renaming it and writing the marker.
        await using (var state = await EmbeddedClusterState.OpenAsync(_directory))
        {
            await state.KeyValueStore.TransactAsync([], [KvOperation.Delete("cluster/settings/" + "imported-from-cluster-db")]);
        }
        File.Move(Path.Combine(_directory, "cluster.db.imported"), Path.Combine(_directory, "cluster.db"));

        await using var again = await EmbeddedClusterState.OpenAsync(_directory);

        AssertSameJson(expected.Services, await again.Store.ListServicesAsync());
        AssertSameJson(expected.Instances, await again.Store.ListInstancesAsync());
        AssertSameJson(expected.Events, await again.Store.ListEventsAsync(0, 10_000));
    }

    private static void AssertSameJson<T>(IEnumerable<T> expected, IEnumerable<T> actual) =>
        Assert.Equal(JsonSerializer.Serialize(expected.ToList(), VirtualClusterJson.Options), JsonSerializer.Serialize(actual.ToList(), VirtualClusterJson.Options));

    public void Dispose()
    {
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }

    private sealed record Expected(
        List<NodeInfo> Nodes, List<ServiceRecord> Services, List<ServiceInstance> Instances, List<ClusterEvent> Events,
        Dictionary<string, List<LogLine>> Logs, Dictionary<string, string> Settings, long LastEpoch);
}
