using System.Net;
using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;
using VirtualCluster.Replication;
using VirtualCluster.Replication.Sync;
using VirtualCluster.Replication.Volumes;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// Fencing of replicated volumes on real processes (issue 16): a machine frozen long enough to be declared down comes
/// back after its replacement has written more; its older epoch cannot roll the replicas back.
/// </summary>
public sealed class ReplicatedVolumeFencingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_machine_that_returns_after_its_replacement_wrote_more_cannot_roll_the_replicas_back()
    {
        await using var cluster = await ManualCluster.StartAsync(3);
        await cluster.WithDiagnosticsAsync(output, () => FreezeAndReturnAsync(cluster));
    }

    private async Task FreezeAndReturnAsync(ManualCluster cluster)
    {
        using var api = cluster.Api();
        var original = (await JournalService.DeployAsync(cluster)).Instances.Single();
        await JournalService.WaitReplicatedAsync(api, original.Instance.Id, TimeSpan.FromSeconds(60));
        var victim = original.NodeName;
        var volumeSet = original.Instance.VolumeSet!;
        var oldVolume = Path.GetDirectoryName(JournalService.RecordsPath(cluster, victim, original.Instance.Id))!;

        // Freeze the whole machine (agent, workload, watchdog): to the cluster it is dead, but it will come back.
        var frozen = ProcessTree.Descendants(cluster.Agents[victim].Pid).Prepend(cluster.Agents[victim].Pid).ToList();
        foreach (var pid in frozen) Native.Kill(pid, ProcessTree.SigStop);
        try
        {
            InstanceView? replacement = null;
            await Wait.UntilAsync(async () =>
            {
                replacement = (await api.ServiceAsync(JournalService.Name))!.Instances
                    .SingleOrDefault(i => i.NodeName != victim && i.Instance.State == InstanceState.Running);
                return replacement is not null;
            }, TimeSpan.FromSeconds(90), "the replacement running on another node");
            Assert.Equal(volumeSet, replacement!.Instance.VolumeSet);
            var holder = (await api.StatusAsync()).Nodes.Single(n => n.Node.Name != victim && n.Node.Name != replacement.NodeName).Node;
            var replica = JournalService.ReplicaPath(cluster, holder.Name, volumeSet);
            var restored = JournalService.Read(JournalService.RecordsPath(cluster, replacement.NodeName, replacement.Instance.Id)).Count;

            // The replacement's syncs reach the remaining holder and carry it past what the frozen machine has.
            var oldCount = JournalService.Read(Path.Combine(oldVolume, "records.log")).Count;
            await Wait.UntilAsync(() => Task.FromResult(JournalService.Read(replica).Count > Math.Max(restored, oldCount) + 25), TimeSpan.FromSeconds(60),
                $"the replica on {holder.Name} past record {Math.Max(restored, oldCount) + 25}");
            output.WriteLine($"{replacement.Instance.Id} on {replacement.NodeName} (epoch {replacement.Instance.Epoch}) restored {restored} records; " +
                $"the frozen copy has {oldCount}; the replica on {holder.Name} has {JournalService.Read(replica).Count}");

            // Positive control of the fence, deterministic: the frozen node's own token, its epoch and its data, pushed
            // to the holder as its replicator would. Refused: a newer epoch has synced there.
            var token = cluster.MachineToken(victim);
            // Over TLS with the frozen node's own certificate, as its replicator would (holders take replicas over TLS only).
            using var certificate = cluster.NodeCertificate(victim);
            var ca = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(Path.Combine(cluster.Directory, "cp", "ca.crt"));
            var tls = new ReplicaTls
            {
                Certificate = () => certificate,
                Identify = c => VirtualCluster.Security.Tls.ClientCertificateValidator.Check(c, ca, DateTimeOffset.UtcNow) is var check ? (check.Identity?.NodeId, check.Problem) : default,
            };
            var transport = new TcpSyncTransport(new IPEndPoint(IPAddress.Loopback, holder.ReplicaPort!.Value), volumeSet + ".data", original.Instance.Epoch, () => token)
            {
                Tls = tls,
                HolderNodeId = holder.Id,
            };
            var refused = await Assert.ThrowsAsync<ReplicationException>(() => new DirectorySyncSender(oldVolume).SyncAsync(transport));
            output.WriteLine($"old epoch refused: {refused.Message}");
            Assert.Contains("older than", refused.Message);
        }
        finally
        {
            foreach (var pid in frozen) Native.Kill(pid, ProcessTree.SigCont);
        }

        // Back: its agent reports again, learns the instance is no longer its own, and the old workload goes.
        await Wait.UntilAsync(async () =>
        {
            var node = (await api.StatusAsync()).Nodes.Single(n => n.Node.Name == victim);
            return node.Node.State == NodeState.Alive && !Native.IsAlive(original.Instance.Pid!.Value);
        }, TimeSpan.FromSeconds(60), $"{victim} alive again and its stale copy stopped");

        // The replica only moves forward from here: sample it while the replacement keeps syncing.
        var current = (await api.ServiceAsync(JournalService.Name))!.Instances.Single(i => i.Instance.State == InstanceState.Running);
        var holderName = (await api.StatusAsync()).Nodes.Single(n => n.Node.Name != victim && n.Node.Name != current.NodeName).Node.Name;
        var path = JournalService.ReplicaPath(cluster, holderName, volumeSet);
        var start = JournalService.Read(path);
        var last = start.Count;
        await Wait.UntilAsync(() =>
        {
            var (count, clean) = JournalService.Read(path);
            Assert.True(clean, $"{path}: a torn or damaged record after {count}");
            Assert.True(count >= last, $"the replica went back from {last} to {count} records");
            last = count;
            return Task.FromResult(count > start.Count + 50);
        }, TimeSpan.FromSeconds(60), "the replica 50 records further");
        output.WriteLine($"after the return the replica on {holderName} went from {start.Count} to {last} records, never back");
    }
}
