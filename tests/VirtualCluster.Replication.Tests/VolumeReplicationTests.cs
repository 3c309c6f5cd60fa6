using System.Diagnostics.Metrics;
using System.Net;
using VirtualCluster.Replication.Volumes;
using VirtualCluster.Security;

namespace VirtualCluster.Replication.Tests;

/// <summary>A live volume replicated over real loopback TCP to a holder that checks real machine tokens.</summary>
public sealed class VolumeReplicationTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly TokenService _cluster = new(TokenKeyRing.CreateEphemeral());

    private static readonly VolumeReplicatorOptions Fast = new() { Debounce = TimeSpan.FromMilliseconds(50), SyncInterval = TimeSpan.FromMilliseconds(500), RetryDelay = TimeSpan.FromMilliseconds(100) };

    private static async Task Eventually(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"{what} did not happen within {Deadline}");
            await Task.Delay(25);
        }
    }

    private static string ReadShared(string path)
    {
        try { return File.ReadAllText(path); } catch (IOException) { return ""; }
    }

    [Fact]
    public async Task Writes_to_a_live_volume_reach_the_holder_and_the_lag_returns_to_zero()
    {
        using var volume = new TempTree("vol");
        using var holderData = new TempTree("holder");
        await using var server = new ReplicaServer(new IPEndPoint(IPAddress.Loopback, 0), holderData.Root, new MachineTokenAuthenticator(_cluster));
        var token = _cluster.IssueMachineToken("node-a", "g1");
        await using var replicator = new VolumeReplicator("svc.data", volume.Root, new TcpSyncTransport(server.EndPoint, "svc.data", 1, () => token), Fast);
        var lags = new List<double>();
        using var listener = new MeterListener { InstrumentPublished = (instrument, l) => { if (instrument.Meter.Name == ReplicationMetrics.MeterName) l.EnableMeasurementEvents(instrument); } };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => { if (instrument.Name == "vc.replication.lag") lock (lags) lags.Add(value); });
        listener.Start();
        replicator.Start();

        var log = Path.Combine(volume.Root, "records.log");
        var replica = Path.Combine(server.ReplicaPath("svc.data"), "records.log");
        for (var i = 1; i <= 50; i++)
        {
            await File.AppendAllTextAsync(log, $"record {i}\n");
            if (i % 10 == 0) await Task.Delay(100);
        }
        await Eventually(() => ReadShared(replica) == File.ReadAllText(log), "the replica catching up with 50 records");
        await Eventually(() => replicator.Status is { LagSeconds: 0, BytesBehind: 0, LastError: null }, "the lag returning to 0");
        Assert.True(replicator.Status.Sequence >= 1);
        listener.RecordObservableInstruments();
        lock (lags) Assert.Contains(0.0, lags);
        Assert.Equal(1, server.Epoch("svc.data"));
    }

    [Fact]
    public async Task Lag_and_bytes_behind_grow_while_the_holder_is_away_and_clear_when_it_is_back()
    {
        using var volume = new TempTree("vol");
        using var holderData = new TempTree("holder");
        var authenticator = new MachineTokenAuthenticator(_cluster);
        var server = new ReplicaServer(new IPEndPoint(IPAddress.Loopback, 0), holderData.Root, authenticator);
        var endPoint = server.EndPoint;
        var token = _cluster.IssueMachineToken("node-a", "g1");
        await using var replicator = new VolumeReplicator("v1", volume.Root, new TcpSyncTransport(endPoint, "v1", 1, () => token), Fast);
        replicator.Start();
        File.WriteAllText(Path.Combine(volume.Root, "a.txt"), "first");
        await Eventually(() => ReadShared(Path.Combine(server.ReplicaPath("v1"), "a.txt")) == "first", "the first sync");
        await server.DisposeAsync();

        File.WriteAllBytes(Path.Combine(volume.Root, "b.bin"), new byte[100_000]);
        await Eventually(() => replicator.Status is { LastError: not null, BytesBehind: >= 100_000, LagSeconds: > 0.3 }, "lag and bytes behind while the holder is away");
        var sequence = replicator.Status.Sequence;

        await using var back = new ReplicaServer(endPoint, holderData.Root, authenticator);
        await Eventually(() => File.Exists(Path.Combine(back.ReplicaPath("v1"), "b.bin")) && replicator.Status is { LagSeconds: 0, BytesBehind: 0, LastError: null }, "catching up once the holder is back");
        Assert.True(replicator.Status.Sequence > sequence);
    }

    [Fact]
    public async Task A_sender_without_a_machine_token_of_this_cluster_is_refused()
    {
        using var volume = new TempTree("vol");
        using var holderData = new TempTree("holder");
        await using var server = new ReplicaServer(new IPEndPoint(IPAddress.Loopback, 0), holderData.Root, new MachineTokenAuthenticator(_cluster));
        File.WriteAllText(Path.Combine(volume.Root, "secret.txt"), "data");
        var otherCluster = new TokenService(TokenKeyRing.CreateEphemeral()).IssueMachineToken("node-x", "g1");
        var viewer = _cluster.Issue("someone", TokenRoles.Viewer);
        foreach (var token in new[] { otherCluster, viewer, "not-a-token" })
        {
            var sender = new Sync.DirectorySyncSender(volume.Root);
            var error = await Assert.ThrowsAsync<ReplicationException>(() => sender.SyncAsync(new TcpSyncTransport(server.EndPoint, "v1", 1, () => token)));
            Assert.Contains("refused", error.Message);
        }
        Assert.False(Directory.Exists(server.ReplicaPath("v1")));
        // Positive control: the same sync with this cluster's machine token goes through.
        var good = _cluster.IssueMachineToken("node-a", "g1");
        await new Sync.DirectorySyncSender(volume.Root).SyncAsync(new TcpSyncTransport(server.EndPoint, "v1", 1, () => good));
        Assert.Equal("data", File.ReadAllText(Path.Combine(server.ReplicaPath("v1"), "secret.txt")));
    }

    [Fact]
    public async Task A_node_that_comes_back_with_an_older_epoch_cannot_roll_the_replica_back()
    {
        using var stale = new TempTree("stale");
        using var fresh = new TempTree("fresh");
        using var holderData = new TempTree("holder");
        await using var server = new ReplicaServer(new IPEndPoint(IPAddress.Loopback, 0), holderData.Root, new MachineTokenAuthenticator(_cluster));
        var tokenA = _cluster.IssueMachineToken("node-a", "g1");
        var tokenB = _cluster.IssueMachineToken("node-b", "g1");
        File.WriteAllText(Path.Combine(stale.Root, "records.log"), "1\n2\n");
        var oldSender = new Sync.DirectorySyncSender(stale.Root);
        await oldSender.SyncAsync(new TcpSyncTransport(server.EndPoint, "v1", 3, () => tokenA));
        // The replacement (epoch 4) started from the replica and wrote more.
        File.WriteAllText(Path.Combine(fresh.Root, "records.log"), "1\n2\n3\n4\n");
        await new Sync.DirectorySyncSender(fresh.Root).SyncAsync(new TcpSyncTransport(server.EndPoint, "v1", 4, () => tokenB));
        // The old node comes back and tries to push its older state.
        File.AppendAllText(Path.Combine(stale.Root, "records.log"), "2b\n");
        var error = await Assert.ThrowsAsync<ReplicationException>(() => oldSender.SyncAsync(new TcpSyncTransport(server.EndPoint, "v1", 3, () => tokenA)));
        Assert.Contains("older than 4", error.Message);
        Assert.Equal("1\n2\n3\n4\n", File.ReadAllText(Path.Combine(server.ReplicaPath("v1"), "records.log")));
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("a/b")]
    [InlineData("")]
    [InlineData("UPPER")]
    public async Task Volume_ids_that_are_not_plain_names_are_refused(string volumeId)
    {
        using var volume = new TempTree("vol");
        using var holderData = new TempTree("holder");
        await using var server = new ReplicaServer(new IPEndPoint(IPAddress.Loopback, 0), holderData.Root, new MachineTokenAuthenticator(_cluster));
        var token = _cluster.IssueMachineToken("node-a", "g1");
        var error = await Assert.ThrowsAsync<ReplicationException>(() => new Sync.DirectorySyncSender(volume.Root).SyncAsync(new TcpSyncTransport(server.EndPoint, volumeId, 1, () => token)));
        Assert.Contains("volume id", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(holderData.Root));
    }
}
