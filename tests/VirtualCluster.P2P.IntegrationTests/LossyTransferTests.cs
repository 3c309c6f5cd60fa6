using System.Collections.Concurrent;
using System.Security.Cryptography;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.IntegrationTests.Infrastructure;
using VirtualCluster.P2P.IntegrationTests.Interop;
using VirtualCluster.P2P.PeerConnections;

namespace VirtualCluster.P2P.IntegrationTests;

/// <summary>
/// .NET to .NET with 5 % of the datagrams each side receives dropped (a lossy wrapper around the real UDP sockets,
/// every layer above it real): 100 MB arrive intact directly on loopback and through a real coturn relay.
/// </summary>
public sealed class LossyTransferTests(LoopbackCoturn coturn) : IClassFixture<LoopbackCoturn>
{
    private const double Loss = 0.05;

    [Fact]
    public Task Direct_pair_carries_100_MB_intact_with_5_percent_loss() => RunAsync(relayed: false);

    [Fact]
    public Task Turn_relayed_pair_carries_100_MB_intact_with_5_percent_loss()
    {
        if (!Shell.Exists("turnserver")) throw new InvalidOperationException("coturn is not installed: run scripts/install-p2p-deps.sh as root (apt-get install -y coturn)");
        return RunAsync(relayed: true);
    }

    private async Task RunAsync(bool relayed)
    {
        var sockets = new ConcurrentBag<LossySocket>();
        var seed = 0;
        PeerConnectionOptions Options()
        {
            var o = PeerPair.Loopback();
            if (relayed)
            {
                o.Ice.TransportPolicy = IceTransportPolicy.Relay;
                o.Ice.Servers = [new IceServer(IceServerKind.Turn, "127.0.0.1", coturn.EndPoint.Port, Coturn.User, Coturn.Password)];
            }
            return o;
        }
        Func<System.Net.IPEndPoint, Transport.IDatagramSocket> factory = ep =>
        {
            var s = new LossySocket(ep, Loss, Interlocked.Increment(ref seed));
            sockets.Add(s);
            return s;
        };
        await using var offerer = new PeerConnection(Options(), socketFactory: factory);
        await using var answerer = new PeerConnection(Options(), socketFactory: factory);
        offerer.IceCandidate += c => answerer.AddIceCandidate(c);
        answerer.IceCandidate += c => offerer.AddIceCandidate(c);
        var accepted = new TaskCompletionSource<DataChannel>();
        answerer.DataChannel += c => accepted.TrySetResult(c);
        answerer.SetRemoteDescription(await offerer.CreateOfferAsync());
        offerer.SetRemoteDescription(await answerer.CreateAnswerAsync());
        await Task.WhenAll(offerer.ConnectAsync(), answerer.ConnectAsync()).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(relayed, offerer.Ice!.SelectedPair!.IsRelayed || offerer.Ice.SelectedPair.Remote.IsRelayed);

        var channel = offerer.CreateDataChannel("bulk");
        await channel.WaitForOpenAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var remote = await accepted.Task.WaitAsync(TimeSpan.FromSeconds(60));
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long got = 0;
        const long total = 100L * 1024 * 1024;
        remote.MessageReceived += (_, d, _) =>
        {
            lock (sha)
            {
                sha.AppendData(d);
                got += d.Length;
            }
        };
        var sent = await BulkSender.SendAsync(channel, total, TimeSpan.FromMinutes(8));
        await Poll.UntilAsync(() => { lock (sha) return got >= total; }, TimeSpan.FromMinutes(8));
        Assert.Equal(total, got);
        Assert.Equal(sent, sha.GetHashAndReset());
        var dropped = sockets.Sum(s => s.Dropped);
        var received = sockets.Sum(s => s.Received);
        Assert.InRange(dropped / (double)received, 0.04, 0.06); // the loss really happened
    }
}
