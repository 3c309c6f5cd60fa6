using VirtualCluster.Store;
using static VirtualCluster.ControlPlane.Tests.Store.StoreTestData;

namespace VirtualCluster.ControlPlane.Tests.Store;

// Sizes beyond any provider's transaction limit: a deploy and a delete of 1,000 replicas.
public abstract partial class ClusterStoreContractTests
{
    [Fact]
    public async Task A_thousand_replicas_are_deployed_moved_and_deleted()
    {
        var instances = Enumerable.Range(0, 1_000).Select(i => Instance($"big-{i:D4}", "big", nodeId: $"node-{i % 7}")).ToList();
        await Store.CreateServiceAsync(Service("small"), [Instance("small-1", "small", nodeId: "node-3")]);

        Assert.True(await Store.CreateServiceAsync(Service("big"), instances));

        Assert.Equal(1_000, (await Store.ListInstancesAsync("big")).Count);
        Assert.Equal(1_001, (await Store.ListInstancesAsync()).Count);
        var onNode3 = await Store.ListInstancesAsync(nodeId: "node-3");
        Assert.Equal(instances.Count(i => i.NodeId == "node-3") + 1, onNode3.Count);
        Assert.Equal(onNode3.Select(i => i.Id).Order(StringComparer.Ordinal), onNode3.Select(i => i.Id));
        Assert.Equal(instances.Count(i => i.NodeId == "node-3"), (await Store.ListInstancesAsync("big", "node-3")).Count);

        // Moving an instance moves it between the node lists.
        await Store.UpsertInstanceAsync(instances[3] with { NodeId = "node-9" });
        Assert.Equal(["big-0003"], (await Store.ListInstancesAsync(nodeId: "node-9")).Select(i => i.Id));
        Assert.DoesNotContain(await Store.ListInstancesAsync(nodeId: "node-3"), i => i.Id == "big-0003");
        await Store.AppendLogsAsync("big-0005", [Line(1)]);

        Assert.True(await Store.DeleteServiceAsync("big"));

        Assert.Null(await Store.GetServiceAsync("big"));
        Assert.Equal(["small-1"], (await Store.ListInstancesAsync()).Select(i => i.Id));
        Assert.Equal(["small-1"], (await Store.ListInstancesAsync(nodeId: "node-3")).Select(i => i.Id));
        Assert.Empty(await Store.ListInstancesAsync(nodeId: "node-9"));
        Assert.Empty(await Store.ReadLogsAsync("big-0005", 0, 10));
        // The ids are free again.
        Assert.True(await Store.CreateServiceAsync(Service("big"), instances.Take(40).ToList()));
        Assert.Equal(40, (await Store.ListInstancesAsync("big")).Count);
    }

    [Fact]
    public async Task A_deploy_whose_instance_id_is_taken_stores_nothing_of_itself()
    {
        await Store.CreateServiceAsync(Service("first"), [Instance("taken", "first", nodeId: "node-1")]);
        var instances = Enumerable.Range(0, 100).Select(i => Instance($"second-{i:D3}", "second", nodeId: "node-2")).ToList();
        instances.Add(Instance("taken", "second", nodeId: "node-2"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Store.CreateServiceAsync(Service("second"), instances));

        Assert.Contains("taken", error.Message, StringComparison.Ordinal);
        Assert.Null(await Store.GetServiceAsync("second"));
        Assert.Empty(await Store.ListInstancesAsync(nodeId: "node-2"));
        Assert.Equal(["taken"], (await Store.ListInstancesAsync()).Select(i => i.Id));
        // Nothing of the failed deploy blocks a later one.
        Assert.True(await Store.CreateServiceAsync(Service("second"), instances.Take(100).ToList()));
        Assert.Equal(100, (await Store.ListInstancesAsync(nodeId: "node-2")).Count);
    }
}
