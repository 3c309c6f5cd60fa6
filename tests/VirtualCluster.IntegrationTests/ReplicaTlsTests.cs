using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;
using VirtualCluster.Replication;
using VirtualCluster.Replication.Sync;
using VirtualCluster.Replication.Volumes;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// Replicas travel between agents over TLS with their nodes' certificates (real processes): the journal service's
/// volume replicates to both holders, and a valid machine token pushed over plain TCP to a holder is refused without
/// anything being written, so a token read off the network is of no use there.
/// </summary>
public sealed class ReplicaTlsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Agents_replicate_over_TLS_and_a_holder_refuses_plain_TCP_even_with_a_valid_token()
    {
        await using var cluster = await ManualCluster.StartAsync(3);
        await cluster.WithDiagnosticsAsync(output, async () =>
        {
            using var api = cluster.Api();
            var view = await JournalService.DeployAsync(cluster);
            var instance = view.Instances.Single();
            // Positive control: syncs (over TLS) complete on both holders.
            var replicas = await JournalService.WaitReplicatedAsync(api, instance.Instance.Id, TimeSpan.FromSeconds(60));
            var nodes = (await api.Http.GetFromJsonAsync<NodeView[]>("/v1/nodes", VirtualClusterJson.Options))!;
            var holder = nodes.Single(n => n.Node.Name == replicas[0].Holder).Node;
            var sender = instance.NodeName;

            // The sender's own valid machine token, over plain TCP: refused, and the refusal says why.
            using var volume = new TempDirectory();
            await File.WriteAllTextAsync(Path.Combine(volume.Path, "a.txt"), "stolen");
            var token = cluster.MachineToken(sender);
            var plain = new TcpSyncTransport(new IPEndPoint(IPAddress.Loopback, holder.ReplicaPort!.Value), "intruder.data", long.MaxValue / 4, () => token);
            var refused = await Assert.ThrowsAsync<ReplicationException>(() => new DirectorySyncSender(volume.Path).SyncAsync(plain));
            Assert.Contains("TLS only", refused.Message);
            Assert.False(Directory.Exists(Path.Combine(cluster.Directory, holder.Name, "replicas", "intruder.data")));
            await cluster.Agents[holder.Name].WaitForOutputAsync("takes replicas over TLS only", TimeSpan.FromSeconds(10));
        });
    }

    private sealed class TempDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("vc-intruder-").FullName;
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
