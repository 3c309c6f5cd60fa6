using System.Collections.Concurrent;
using System.Net;
using System.Text;
using VirtualCluster.P2P.IntegrationTests.Infrastructure;
using VirtualCluster.P2P.Stun;
using VirtualCluster.P2P.Transport;
using VirtualCluster.P2P.Turn;

namespace VirtualCluster.P2P.IntegrationTests;

/// <summary>The TURN client against a real coturn on loopback.</summary>
public sealed class TurnClientTests(LoopbackCoturn coturn) : IClassFixture<LoopbackCoturn>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static (PacketMux Mux, UdpDatagramSocket Socket) NewMux()
    {
        var socket = new UdpDatagramSocket(new IPEndPoint(IPAddress.Loopback, 0));
        return (new PacketMux(socket, new StunTransactionTable(TimeProvider.System)), socket);
    }

    [Fact]
    public async Task Allocate_answers_the_401_challenge_and_gets_a_relayed_address()
    {
        var (mux, socket) = NewMux();
        using var _ = mux;
        await using var client = new TurnClient(mux, coturn.EndPoint, Coturn.User, Coturn.Password);
        using var cts = new CancellationTokenSource(Timeout);
        var (relayed, mapped, lifetime) = await client.AllocateAsync(cts.Token);
        Assert.Equal(IPAddress.Loopback, relayed.Address);
        Assert.InRange(relayed.Port, 49152, 49999);
        Assert.Equal(socket.LocalEndPoint, mapped);
        Assert.True(lifetime > TimeSpan.FromMinutes(1));
        Assert.True(await client.RefreshAsync(TimeSpan.FromMinutes(5), cts.Token) >= TimeSpan.FromMinutes(5)); // coturn may round up
        // the STUN side of the server: a plain Binding request sees the same mapped address
        var binding = await new StunClient(mux).GetMappedAddressAsync(coturn.EndPoint, cts.Token);
        Assert.Equal(socket.LocalEndPoint, binding.MappedEndPoint);
        // LIFETIME 0 deletes the allocation (RFC 8656 §8)
        Assert.Equal(TimeSpan.Zero, await client.RefreshAsync(TimeSpan.Zero, cts.Token));
    }

    [Fact]
    public async Task A_wrong_password_fails_with_401()
    {
        var (mux, _) = NewMux();
        using var __ = mux;
        await using var client = new TurnClient(mux, coturn.EndPoint, Coturn.User, "wrong");
        var e = await Assert.ThrowsAsync<TurnException>(() => client.AllocateAsync(new CancellationTokenSource(Timeout).Token));
        Assert.Equal(401, e.Code);
    }

    [Fact]
    public async Task Send_and_Data_indications_then_ChannelData_carry_data_both_ways()
    {
        var (mux, _) = NewMux();
        using var __ = mux;
        await using var client = new TurnClient(mux, coturn.EndPoint, Coturn.User, Coturn.Password);
        var atClient = new BlockingCollection<(string Text, IPEndPoint From)>();
        client.DataReceived = (data, from) => atClient.Add((Encoding.UTF8.GetString(data), from));
        var (relayed, _, _) = await client.AllocateAsync(new CancellationTokenSource(Timeout).Token);

        using var peer = new UdpDatagramSocket(new IPEndPoint(IPAddress.Loopback, 0));
        var atPeer = new BlockingCollection<(string Text, IPEndPoint From)>();
        peer.Start((data, from) => atPeer.Add((Encoding.UTF8.GetString(data), from)));

        // no permission yet: the client queues the datagram, creates the permission, then sends a Send indication
        client.Send("via send indication"u8, peer.LocalEndPoint);
        Assert.True(atPeer.TryTake(out var got, Timeout));
        Assert.Equal(("via send indication", relayed), got);
        peer.Send("via data indication"u8, relayed);
        Assert.True(atClient.TryTake(out got, Timeout));
        Assert.Equal(("via data indication", peer.LocalEndPoint), got);
        Assert.Equal(1, client.DataIndicationsReceived);

        var channel = await client.BindChannelAsync(peer.LocalEndPoint, new CancellationTokenSource(Timeout).Token);
        Assert.InRange(channel, ChannelData.MinChannel, ChannelData.MaxChannel);
        client.Send("via channel"u8, peer.LocalEndPoint);
        Assert.True(atPeer.TryTake(out got, Timeout));
        Assert.Equal(("via channel", relayed), got);
        peer.Send("back via channel"u8, relayed);
        Assert.True(atClient.TryTake(out got, Timeout));
        Assert.Equal(("back via channel", peer.LocalEndPoint), got);
        Assert.Equal(1, client.ChannelDataReceived);
    }

    [Fact]
    public async Task Data_from_a_peer_without_permission_is_not_relayed()
    {
        var (mux, _) = NewMux();
        using var __ = mux;
        await using var client = new TurnClient(mux, coturn.EndPoint, Coturn.User, Coturn.Password);
        var received = 0;
        client.DataReceived = (_, _) => Interlocked.Increment(ref received);
        var (relayed, _, _) = await client.AllocateAsync(new CancellationTokenSource(Timeout).Token);
        using var stranger = new UdpDatagramSocket(new IPEndPoint(IPAddress.Loopback, 0));
        stranger.Send("let me in"u8, relayed);
        await Task.Delay(500);
        Assert.Equal(0, received);
    }

    [Fact]
    public async Task A_stale_nonce_is_retried_with_the_new_one()
    {
        using var shortNonces = await Coturn.StartAsync("127.0.0.1", LoopbackCoturn.FreeUdpPort(), null, "--allow-loopback-peers", "--stale-nonce=1");
        var (mux, _) = NewMux();
        using var __ = mux;
        await using var client = new TurnClient(mux, new IPEndPoint(IPAddress.Loopback, shortNonces.Port), Coturn.User, Coturn.Password);
        await client.AllocateAsync(new CancellationTokenSource(Timeout).Token);
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // the nonce expires
        await client.CreatePermissionAsync(IPAddress.Loopback, new CancellationTokenSource(Timeout).Token);
        Assert.True(client.StaleNonceRetries >= 1, "expected a 438 Stale Nonce round");
    }
}
