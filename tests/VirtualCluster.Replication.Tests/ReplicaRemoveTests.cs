using System.Net;
using VirtualCluster.Replication.Sync;
using VirtualCluster.Replication.Volumes;
using VirtualCluster.Security;

namespace VirtualCluster.Replication.Tests;

/// <summary><see cref="ReplicaServer.TryRemove"/>: collecting a replica nobody wants, never one a sender still pushes.</summary>
public sealed class ReplicaRemoveTests
{
    private readonly TokenService _cluster = new(TokenKeyRing.CreateEphemeral());

    [Fact]
    public async Task A_replica_synced_within_the_quiet_time_is_kept_and_a_quiet_one_is_removed_with_its_epoch()
    {
        using var volume = new TempTree("vol");
        using var holder = new TempTree("holder");
        await File.WriteAllTextAsync(volume["a.txt"], "data");
        await using var server = new ReplicaServer(new IPEndPoint(IPAddress.Loopback, 0), holder.Root, new MachineTokenAuthenticator(_cluster));
        var token = _cluster.IssueMachineToken("node-a", "g1");
        await new DirectorySyncSender(volume.Root).SyncAsync(new TcpSyncTransport(server.EndPoint, "set.data", 3, () => token));
        Assert.Equal(["set.data"], server.Volumes());

        // Just synced: refused, the replica stays.
        Assert.False(server.TryRemove("set.data", TimeSpan.FromMinutes(5)));
        Assert.True(File.Exists(Path.Combine(server.ReplicaPath("set.data"), "a.txt")));
        Assert.Equal(3, server.Epoch("set.data"));

        // Quiet long enough (zero here): removed, directory and epoch, and no longer listed.
        Assert.True(server.TryRemove("set.data", TimeSpan.Zero));
        Assert.False(Directory.Exists(server.ReplicaPath("set.data")));
        Assert.Equal(0, server.Epoch("set.data"));
        Assert.Empty(server.Volumes());
        Assert.Throws<ReplicationException>(() => server.TryRemove("../etc", TimeSpan.Zero));

        // A later sync of the same id starts over cleanly.
        await new DirectorySyncSender(volume.Root).SyncAsync(new TcpSyncTransport(server.EndPoint, "set.data", 4, () => token));
        Assert.Equal("data", await File.ReadAllTextAsync(Path.Combine(server.ReplicaPath("set.data"), "a.txt")));
    }
}
