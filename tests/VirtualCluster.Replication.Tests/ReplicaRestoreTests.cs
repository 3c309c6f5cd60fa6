using System.Net;
using VirtualCluster.Replication.Sync;
using VirtualCluster.Replication.Volumes;
using VirtualCluster.Security;

namespace VirtualCluster.Replication.Tests;

/// <summary><see cref="ReplicaServer.RestoreTo"/>: a failover replacement starts on the replica its node holds.</summary>
public sealed class ReplicaRestoreTests
{
    private readonly TokenService _cluster = new(TokenKeyRing.CreateEphemeral());

    private async Task<(ReplicaServer Server, TempTree Volume, TempTree Holder)> ReplicatedAsync()
    {
        var volume = new TempTree("vol");
        var holder = new TempTree("holder");
        Directory.CreateDirectory(volume["db/wal"]);
        await File.WriteAllTextAsync(volume["db/wal/000001.log"], string.Concat(Enumerable.Repeat("record\n", 1000)));
        await File.WriteAllTextAsync(volume["db/CURRENT"], "000001\n");
        File.SetUnixFileMode(volume["db/CURRENT"], UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.CreateSymbolicLink(volume["latest"], "db/wal/000001.log");
        var server = new ReplicaServer(new IPEndPoint(IPAddress.Loopback, 0), holder.Root, new MachineTokenAuthenticator(_cluster));
        var token = _cluster.IssueMachineToken("node-a", "g1");
        await new DirectorySyncSender(volume.Root).SyncAsync(new TcpSyncTransport(server.EndPoint, "set.data", 7, () => token));
        return (server, volume, holder);
    }

    [Fact]
    public async Task The_replica_is_restored_whole_with_modes_mtimes_and_links_and_without_staging_files()
    {
        var (server, volume, holder) = await ReplicatedAsync();
        await using var _ = server;
        using var __ = volume;
        using var ___ = holder;
        Directory.CreateDirectory(Path.Combine(server.ReplicaPath("set.data"), TreeScanner.ReservedPrefix + "staging"));
        var target = holder["instances/new-1/volumes/data"];

        Assert.Equal(7, server.RestoreTo("set.data", target));

        Assert.Equal(TempTree.Snapshot(volume.Root, directoryTimes: false), TempTree.Snapshot(target, directoryTimes: false));
        Assert.False(Directory.Exists(target + TreeScanner.ReservedPrefix + "restore"));
        Assert.Equal("db/wal/000001.log", new FileInfo(Path.Combine(target, "latest")).LinkTarget);
    }

    [Fact]
    public async Task Nothing_to_restore_is_null_and_an_existing_volume_is_never_overwritten()
    {
        var (server, volume, holder) = await ReplicatedAsync();
        await using var _ = server;
        using var __ = volume;
        using var ___ = holder;

        Assert.Null(server.RestoreTo("other.data", holder["new"]));
        Assert.False(Directory.Exists(holder["new"]));

        var existing = holder["kept"];
        Directory.CreateDirectory(existing);
        await File.WriteAllTextAsync(Path.Combine(existing, "mine"), "newer data");
        Assert.Throws<IOException>(() => server.RestoreTo("set.data", existing));
        Assert.Equal(["mine"], Directory.EnumerateFileSystemEntries(existing).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("/etc")]
    [InlineData("a/b")]
    [InlineData("UPPER")]
    [InlineData("")]
    [InlineData("a..b")]
    public async Task A_volume_id_that_is_not_a_plain_name_is_refused(string volumeId)
    {
        var (server, volume, holder) = await ReplicatedAsync();
        await using var _ = server;
        using var __ = volume;
        using var ___ = holder;
        var error = Assert.Throws<ReplicationException>(() => server.RestoreTo(volumeId, holder["target"]));
        Assert.Contains("volume id", error.Message);
        Assert.False(Directory.Exists(holder["target"]));
    }
}
