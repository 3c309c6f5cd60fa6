using System.Collections.Concurrent;
using System.Net;
using System.Text;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.IntegrationTests.Infrastructure;
using VirtualCluster.P2P.Signaling;

namespace VirtualCluster.P2P.IntegrationTests;

/// <summary>Two agents on real UDP sockets in one process, signaling in-process; with and without a real TURN relay.</summary>
public sealed class IceLoopbackTests(LoopbackCoturn coturn) : IClassFixture<LoopbackCoturn>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Host_candidates_on_loopback_connect_and_carry_data()
    {
        var options = () => new IceAgentOptions { LocalAddresses = [IPAddress.Loopback], IncludeLoopback = true };
        await RunAsync(options(), options(), expectRelayed: false);
    }

    [Fact]
    public async Task Relay_only_agents_connect_through_coturn()
    {
        var options = () => new IceAgentOptions
        {
            LocalAddresses = [IPAddress.Loopback],
            IncludeLoopback = true,
            TransportPolicy = IceTransportPolicy.Relay,
            Servers = [new IceServer(IceServerKind.Turn, "127.0.0.1", coturn.EndPoint.Port, Coturn.User, Coturn.Password)],
        };
        await RunAsync(options(), options(), expectRelayed: true);
    }

    private static async Task RunAsync(IceAgentOptions a, IceAgentOptions b, bool expectRelayed)
    {
        await using var controlling = new IceAgent(IceRole.Controlling, a);
        await using var controlled = new IceAgent(IceRole.Controlled, b);
        var (ca, cb) = InProcessSignalingChannel.CreatePair();
        await using var sa = new IceSignalingSession(controlling, ca);
        await using var sb = new IceSignalingSession(controlled, cb);
        using var cts = new CancellationTokenSource(Timeout);
        var pairs = await Task.WhenAll(sa.ConnectAsync(cts.Token), sb.ConnectAsync(cts.Token));
        Assert.All(pairs, p => Assert.Equal(expectRelayed, p.IsRelayed));
        if (expectRelayed) Assert.All(pairs, p => Assert.Equal(IceCandidateType.Relayed, p.Local.Type));

        var atA = new BlockingCollection<string>();
        var atB = new BlockingCollection<string>();
        controlling.DataReceived = d => atA.Add(Encoding.UTF8.GetString(d));
        controlled.DataReceived = d => atB.Add(Encoding.UTF8.GetString(d));
        for (var i = 0; i < 3; i++)
        {
            controlling.Send(Encoding.UTF8.GetBytes($"a{i}"));
            controlled.Send(Encoding.UTF8.GetBytes($"b{i}"));
        }
        for (var i = 0; i < 3; i++)
        {
            Assert.True(atB.TryTake(out var fromA, Timeout));
            Assert.True(atA.TryTake(out var fromB, Timeout));
            Assert.StartsWith("a", fromA);
            Assert.StartsWith("b", fromB);
        }
        Assert.Equal(0, sa.MalformedCandidates + sb.MalformedCandidates);
    }
}
