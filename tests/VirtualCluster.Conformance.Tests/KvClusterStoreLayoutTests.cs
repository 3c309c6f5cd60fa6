using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.Membership.ClusterState;
using VirtualCluster.Membership.Embedded;
using VirtualCluster.Store;
using static VirtualCluster.ControlPlane.Tests.Store.StoreTestData;

namespace VirtualCluster.Conformance.Tests;

/// <summary>What a crash part-way leaves in the key-value store, and state written before the indexes, as <see cref="KvClusterStore"/> reads it.</summary>
public sealed class KvClusterStoreLayoutTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vc-kv-layout-").FullName;
    private SqliteKeyValueStore _kv = null!;

    public Task InitializeAsync()
    {
        _kv = new SqliteKeyValueStore(new EmbeddedMembershipOptions { Path = Path.Combine(_directory, "kv.db") });
        return Task.CompletedTask;
    }

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, VirtualClusterJson.Options);

    [Fact]
    public async Task An_interrupted_deploy_is_invisible_and_cleaned_up_by_the_next_deploy_of_its_name()
    {
        var store = new KvClusterStore(_kv);
        Assert.True(await store.CreateServiceAsync(Service("other"), [Instance("other-1", "other", nodeId: "node-1")]));
        // A crash after two chunks: the pending record, instance records and index entries, no service record.
        var orphans = Enumerable.Range(0, 20).Select(i => Instance($"web-{i:D2}", "web", nodeId: "node-1")).ToList();
        List<KvOperation> crash = [KvOperation.Put("cluster/pending/web", "crashed")];
        foreach (var i in orphans)
        {
            crash.Add(KvOperation.Put($"cluster/instances/web/{i.Id}", Json(i)));
            crash.Add(KvOperation.Put($"cluster/instance-ids/{i.Id}", "web"));
            crash.Add(KvOperation.Put($"cluster/node-instances/node-1/{i.Id}", "web"));
        }
        Assert.True((await _kv.TransactAsync([], crash)).Succeeded);

        Assert.Null(await store.GetServiceAsync("web"));
        Assert.Equal(["other-1"], (await store.ListInstancesAsync()).Select(i => i.Id));
        Assert.Equal(["other-1"], (await store.ListInstancesAsync(nodeId: "node-1")).Select(i => i.Id));
        Assert.Empty(await store.ListInstancesAsync("web"));

        Assert.True(await store.CreateServiceAsync(Service("web"), [Instance("web-new", "web", nodeId: "node-2")]));

        Assert.Equal(["web-new"], (await store.ListInstancesAsync("web")).Select(i => i.Id));
        Assert.Empty((await _kv.ListAsync("cluster/node-instances/node-1/web-")).Entries);
        Assert.Empty((await _kv.ListAsync("cluster/instance-ids/web-0")).Entries);
        Assert.Null(await _kv.GetAsync("cluster/pending/web"));
    }

    [Fact]
    public async Task An_interrupted_delete_is_finished_by_the_next_delete()
    {
        var store = new KvClusterStore(_kv);
        await store.CreateServiceAsync(Service("a"), [Instance("a-1", "a", nodeId: "node-1")]);
        await store.CreateServiceAsync(Service("b"), [Instance("b-1", "b", nodeId: "node-1")]);
        await store.AppendLogsAsync("a-1", [Line(1)]);
        // A crash right after the delete's first transaction: the records are gone, the clean-up record remains.
        Assert.True((await _kv.TransactAsync([], [KvOperation.Delete("cluster/services/a"), KvOperation.DeletePrefix("cluster/instances/a/"),
            KvOperation.Put("cluster/garbage/a/x", """[{"id":"a-1","nodeId":"node-1"}]""")])).Succeeded);
        Assert.Equal(["b-1"], (await store.ListInstancesAsync(nodeId: "node-1")).Select(i => i.Id));

        Assert.True(await store.DeleteServiceAsync("b"));

        Assert.Empty((await _kv.ListAsync("cluster/garbage/")).Entries);
        Assert.Empty((await _kv.ListAsync("cluster/node-instances/")).Entries);
        Assert.Empty((await _kv.ListAsync("cluster/instance-ids/")).Entries);
        Assert.Empty((await _kv.ListAsync("cluster/logs/")).Entries);
    }

    [Fact]
    public async Task State_written_before_the_indexes_gets_them_on_first_use()
    {
        // Layout 1: service and instance records only, as the store wrote them before the indexes.
        var instance = Instance("old-1", "old", nodeId: "node-7");
        Assert.True((await _kv.TransactAsync([], [KvOperation.Put("cluster/services/old", Json(Service("old"))),
            KvOperation.Put("cluster/instances/old/old-1", Json(instance))])).Succeeded);
        var store = new KvClusterStore(_kv);

        Assert.Equal(["old-1"], (await store.ListInstancesAsync(nodeId: "node-7")).Select(i => i.Id));
        await store.DeleteInstanceAsync("old-1");
        Assert.Empty(await store.ListInstancesAsync("old"));
        Assert.Equal("2", (await _kv.GetAsync("cluster/layout"))?.Value);
    }

    [Fact]
    public async Task Imported_events_keep_their_sequences_and_epochs_stay_above_the_floor()
    {
        var store = new KvClusterStore(_kv);
        await store.ImportEventAsync(new ClusterEvent(41, Time, "node.joined", "a", "m"));
        await store.RaiseEpochFloorAsync(1_000);

        Assert.Equal(42, (await store.AppendEventAsync(new ClusterEvent(0, Time, "node.joined", "b", "m"))).Sequence);
        Assert.True(await store.NextEpochAsync() > 1_000);
        Assert.True(await new KvClusterStore(_kv).NextEpochAsync() > 1_000); // a fresh store object reads the floor
    }

    public async Task DisposeAsync()
    {
        await _kv.DisposeAsync();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
