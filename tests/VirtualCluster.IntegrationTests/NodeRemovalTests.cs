using System.Net.Http.Json;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// An admin removes a node whose agent is running: the control plane revokes its machine credential, the agent's next
/// heartbeat is refused, its attempt to join again with the bootstrap join token is refused too, and the agent stops
/// with a clear message while its service comes back on the other node.
/// </summary>
public sealed class NodeRemovalTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task A_removed_node_cannot_heartbeat_or_rejoin_and_its_service_moves()
    {
        await using var cluster = await ManualCluster.StartAsync(agents: 2);
        await cluster.WithDiagnosticsAsync(output, async () =>
        {
            var view = await cluster.DeployHelloAsync("hello", replicas: 1);
            var instance = Assert.Single(view.Instances).Instance;
            using var api = cluster.Api();
            var nodes = await api.Http.GetFromJsonAsync<NodeView[]>("/v1/nodes", VirtualClusterJson.Options);
            var victim = nodes!.Single(n => n.Node.Id == instance.NodeId).Node.Name;
            Assert.False(cluster.Agents[victim].HasExited); // positive control: its agent runs until the removal

            using (var removed = await api.Http.DeleteAsync($"/v1/nodes/{victim}"))
                Assert.True(removed.IsSuccessStatusCode, await removed.Content.ReadAsStringAsync());

            await Wait.UntilAsync(() => Task.FromResult(cluster.Agents[victim].HasExited), TimeSpan.FromSeconds(60), $"the agent of {victim} stops");
            Assert.Equal(2, cluster.Agents[victim].ExitCode);
            Assert.Contains("was removed by an admin", cluster.Agents[victim].Output, StringComparison.Ordinal);
            await Wait.UntilAsync(async () =>
                (await api.ServiceAsync("hello"))?.Instances.Any(i => i.Instance.State == InstanceState.Running && i.Instance.NodeId != instance.NodeId) == true,
                TimeSpan.FromSeconds(60), "hello runs on the other node");
            var after = await api.Http.GetFromJsonAsync<NodeView[]>("/v1/nodes", VirtualClusterJson.Options);
            Assert.Equal(NodeState.Left, after!.Single(n => n.Node.Name == victim).Node.State);
        });
    }
}
