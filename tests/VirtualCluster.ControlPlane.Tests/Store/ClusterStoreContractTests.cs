using VirtualCluster.Store;
using static VirtualCluster.ControlPlane.Tests.Store.StoreTestData;

namespace VirtualCluster.ControlPlane.Tests.Store;

/// <summary>
/// Behaviour every <see cref="IClusterStore"/> must have. Derive, return a fresh empty store from
/// <see cref="CreateStore"/>, and clean up in <see cref="Dispose(bool)"/>.
/// </summary>
public abstract partial class ClusterStoreContractTests : IDisposable
{
    private IClusterStore? store;

    /// <summary>The store under test, created on first use.</summary>
    protected IClusterStore Store => store ??= CreateStore();

    /// <summary>A new, empty store.</summary>
    protected abstract IClusterStore CreateStore();

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the store when it is disposable; override to delete files too (call base first).</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing) (store as IDisposable)?.Dispose();
    }

    [Fact]
    public async Task Node_round_trips_every_field()
    {
        var node = Node("node-1", heartbeat: Time);
        await Store.UpsertNodeAsync(node);

        AssertEquivalent(node, await Store.FindNodeAsync("node-1"));
        AssertEquivalent(node, Assert.Single(await Store.ListNodesAsync()));
    }

    [Fact]
    public async Task Node_without_heartbeat_keeps_it_null()
    {
        await Store.UpsertNodeAsync(Node("node-1", heartbeat: null));

        Assert.Null((await Store.FindNodeAsync("node-1"))!.LastHeartbeat);
    }

    [Fact]
    public async Task Node_is_found_by_id_or_name()
    {
        await Store.UpsertNodeAsync(Node("id-a", "alpha"));
        await Store.UpsertNodeAsync(Node("id-b", "beta"));

        Assert.Equal("id-a", (await Store.FindNodeAsync("alpha"))?.Id);
        Assert.Equal("id-b", (await Store.FindNodeAsync("id-b"))?.Id);
        Assert.Null(await Store.FindNodeAsync("gamma"));
        Assert.Equal(["id-a", "id-b"], (await Store.ListNodesAsync()).Select(n => n.Id).Order());
    }

    [Fact]
    public async Task Upserting_a_node_replaces_it_by_id()
    {
        await Store.UpsertNodeAsync(Node("node-1", "old"));
        var changed = Node("node-1", "new", Time) with { State = NodeState.Down };

        await Store.UpsertNodeAsync(changed);

        AssertEquivalent(changed, Assert.Single(await Store.ListNodesAsync()));
        Assert.Null(await Store.FindNodeAsync("old"));
        Assert.Equal(NodeState.Down, (await Store.FindNodeAsync("new"))?.State);
    }

    [Fact]
    public async Task Service_round_trips_every_field_of_its_spec()
    {
        var service = Service("hello", version: 5);
        Assert.True(await Store.CreateServiceAsync(service, []));

        AssertEquivalent(service, await Store.GetServiceAsync("hello"));
        AssertEquivalent(service, Assert.Single(await Store.ListServicesAsync()));
    }

    [Fact]
    public async Task Minimal_service_keeps_defaults_and_nulls()
    {
        var service = new ServiceRecord(MinimalSpec("web"), Time, 1);
        await Store.CreateServiceAsync(service, []);

        var stored = await Store.GetServiceAsync("web");

        AssertEquivalent(service, stored);
        Assert.Null(stored!.Spec.HealthCheck);
        Assert.Null(stored.Spec.Command);
        Assert.Empty(stored.Spec.Args);
        Assert.Empty(stored.Spec.Placement.Constraints);
    }

    [Fact]
    public async Task Creating_a_service_stores_its_instances()
    {
        var instances = new[] { Instance("hello-1", "hello"), Instance("hello-2", "hello", "node-2", InstanceState.Pending, pid: null) };

        Assert.True(await Store.CreateServiceAsync(Service("hello"), instances));

        var stored = await Store.ListInstancesAsync("hello");
        Assert.Equal(2, stored.Count);
        AssertEquivalent(instances[0], stored.Single(i => i.Id == "hello-1"));
        AssertEquivalent(instances[1], stored.Single(i => i.Id == "hello-2"));
        Assert.Null(stored.Single(i => i.Id == "hello-2").Pid);
    }

    [Fact]
    public async Task Creating_an_existing_service_returns_false_and_stores_nothing()
    {
        await Store.CreateServiceAsync(Service("hello", version: 1), [Instance("hello-1", "hello")]);

        var again = new ServiceRecord(MinimalSpec("hello"), Time.AddDays(1), 9);
        Assert.False(await Store.CreateServiceAsync(again, [Instance("hello-9", "hello")]));

        AssertEquivalent(Service("hello", version: 1), await Store.GetServiceAsync("hello"));
        Assert.Equal(["hello-1"], (await Store.ListInstancesAsync()).Select(i => i.Id));
    }

    [Fact]
    public async Task Unknown_service_is_null_and_services_are_listed()
    {
        await Store.CreateServiceAsync(Service("b"), []);
        await Store.CreateServiceAsync(Service("a"), []);

        Assert.Null(await Store.GetServiceAsync("c"));
        Assert.Equal(["a", "b"], (await Store.ListServicesAsync()).Select(s => s.Spec.Name).Order());
    }

    [Fact]
    public async Task Deleting_a_service_removes_its_instances_and_their_logs_only()
    {
        await Store.CreateServiceAsync(Service("hello"), [Instance("hello-1", "hello"), Instance("hello-2", "hello")]);
        await Store.CreateServiceAsync(Service("other"), [Instance("other-1", "other")]);
        await Store.AppendLogsAsync("hello-1", [Line(1), Line(2)]);
        await Store.AppendLogsAsync("other-1", [Line(1)]);

        Assert.True(await Store.DeleteServiceAsync("hello"));

        Assert.Null(await Store.GetServiceAsync("hello"));
        Assert.Empty(await Store.ListInstancesAsync("hello"));
        Assert.Empty(await Store.ReadLogsAsync("hello-1", 0, 100));
        Assert.Equal(0, await Store.LastLogSequenceAsync("hello-1"));
        Assert.Equal(["other-1"], (await Store.ListInstancesAsync()).Select(i => i.Id));
        Assert.Single(await Store.ReadLogsAsync("other-1", 0, 100));
        Assert.False(await Store.DeleteServiceAsync("hello"));
    }

    [Fact]
    public async Task Deleted_service_name_can_be_created_again()
    {
        await Store.CreateServiceAsync(Service("hello"), [Instance("hello-1", "hello")]);
        await Store.DeleteServiceAsync("hello");

        Assert.True(await Store.CreateServiceAsync(Service("hello", 2), [Instance("hello-1", "hello")]));
        Assert.Equal(2, (await Store.GetServiceAsync("hello"))?.Version);
    }

    [Fact]
    public async Task Instances_are_filtered_by_service_and_node()
    {
        await Store.CreateServiceAsync(Service("a"), [Instance("a-1", "a", "n1"), Instance("a-2", "a", "n2")]);
        await Store.CreateServiceAsync(Service("b"), [Instance("b-1", "b", "n1")]);

        Assert.Equal(["a-1", "a-2", "b-1"], Ids(await Store.ListInstancesAsync()));
        Assert.Equal(["a-1", "a-2"], Ids(await Store.ListInstancesAsync(service: "a")));
        Assert.Equal(["a-1", "b-1"], Ids(await Store.ListInstancesAsync(nodeId: "n1")));
        Assert.Equal(["a-2"], Ids(await Store.ListInstancesAsync("a", "n2")));
        Assert.Empty(await Store.ListInstancesAsync("b", "n2"));
        Assert.Empty(await Store.ListInstancesAsync("nope"));
    }

    [Fact]
    public async Task Upserting_an_instance_adds_or_replaces_it()
    {
        await Store.CreateServiceAsync(Service("a"), [Instance("a-1", "a", "n1")]);
        var moved = Instance("a-1", "a", "n2", InstanceState.Failed, pid: null) with { Reason = "exit code 3", Epoch = 18 };
        var added = Instance("a-2", "a", "n1", InstanceState.Pending);

        await Store.UpsertInstanceAsync(moved);
        await Store.UpsertInstanceAsync(added);

        var stored = await Store.ListInstancesAsync("a");
        AssertEquivalent(moved, stored.Single(i => i.Id == "a-1"));
        AssertEquivalent(added, stored.Single(i => i.Id == "a-2"));
        Assert.Equal(["a-2"], Ids(await Store.ListInstancesAsync(nodeId: "n1")));
    }

    [Fact]
    public async Task Deleting_an_instance_removes_it_and_unknown_ids_are_ignored()
    {
        await Store.CreateServiceAsync(Service("a"), [Instance("a-1", "a"), Instance("a-2", "a")]);

        await Store.DeleteInstanceAsync("a-1");
        await Store.DeleteInstanceAsync("a-1");
        await Store.DeleteInstanceAsync("never-existed");

        Assert.Equal(["a-2"], Ids(await Store.ListInstancesAsync()));
        Assert.NotNull(await Store.GetServiceAsync("a"));
    }

    [Fact]
    public async Task Upserting_an_instance_of_an_unknown_service_throws_and_stores_nothing()
    {
        // A late status update must not bring back an instance of a deleted service.
        await Store.CreateServiceAsync(Service("a"), [Instance("a-1", "a")]);
        await Store.DeleteServiceAsync("a");

        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.UpsertInstanceAsync(Instance("a-1", "a")));
        Assert.Empty(await Store.ListInstancesAsync());
    }

    [Fact]
    public async Task Canceled_operations_throw()
    {
        using var canceled = new CancellationTokenSource();
        await canceled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.ListNodesAsync(canceled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.NextEpochAsync(canceled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.CreateServiceAsync(Service("a"), [], canceled.Token));
        Assert.Null(await Store.GetServiceAsync("a"));
    }

    private static IEnumerable<string> Ids(IEnumerable<ServiceInstance> instances) => instances.Select(i => i.Id).Order(StringComparer.Ordinal);
}
