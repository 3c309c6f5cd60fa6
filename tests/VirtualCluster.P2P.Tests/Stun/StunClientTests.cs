using System.Net;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.P2P.Stun;
using VirtualCluster.P2P.Transport;

namespace VirtualCluster.P2P.Tests.Stun;

public sealed class StunClientTests
{
    private static readonly IPEndPoint Server = new(IPAddress.Parse("203.0.113.1"), 3478);

    [Fact]
    public async Task Retransmits_with_doubling_RTO_and_times_out_after_Rm_times_RTO()
    {
        var time = new FakeTimeProvider();
        var socket = new RecordingSocket(time);
        var mux = new PacketMux(socket, new StunTransactionTable(time));
        var task = new StunClient(mux).GetMappedAddressAsync(Server);
        for (var i = 0; i < 400 && mux.Transactions.Count > 0; i++) time.Advance(TimeSpan.FromMilliseconds(100));
        var result = await task;
        Assert.False(result.Succeeded);
        Assert.Equal("timeout", result.Error);
        // RFC 8489 §6.2.1: sent at 0, 500, 1500, 3500, 7500, 15500, 31500 ms; fails at 39500 ms
        Assert.Equal(new[] { 0, 500, 1500, 3500, 7500, 15500, 31500 }, socket.Sent.Select(s => (int)s.At.TotalMilliseconds));
        Assert.All(socket.Sent, s => Assert.Equal(socket.Sent[0].Data, s.Data));
        Assert.Equal(39500, (int)(time.GetUtcNow() - time.Start).TotalMilliseconds);
    }

    [Fact]
    public async Task Learns_the_mapped_address_from_the_response_and_stops_retransmitting()
    {
        var time = new FakeTimeProvider();
        var socket = new RecordingSocket(time);
        var mux = new PacketMux(socket, new StunTransactionTable(time));
        var task = new StunClient(mux).GetMappedAddressAsync(Server);
        time.Advance(TimeSpan.FromMilliseconds(600)); // one retransmission
        Assert.True(StunMessage.TryParse(socket.Sent[0].Data, out var request));
        Assert.True(request.CheckFingerprint());
        var mapped = new IPEndPoint(IPAddress.Parse("198.51.100.7"), 61000);
        socket.Inject(StunResponses.BindingSuccess(request, mapped), Server);
        var result = await task;
        Assert.Equal(mapped, result.MappedEndPoint);
        time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(2, socket.Sent.Count);
        Assert.Equal(0, mux.Transactions.Count);
    }

    [Fact]
    public async Task Error_responses_are_reported_and_forged_responses_dropped()
    {
        var time = new FakeTimeProvider();
        var socket = new RecordingSocket(time);
        var mux = new PacketMux(socket, new StunTransactionTable(time));
        var task = new StunClient(mux).GetMappedAddressAsync(Server);
        Assert.True(StunMessage.TryParse(socket.Sent[0].Data, out var request));
        var forged = StunResponses.BindingSuccess(
            new StunMessageBuilder(StunMethod.Binding, StunClass.Request, StunTransactionId.New()).Build() is var b && StunMessage.TryParse(b, out var other) ? other : null!,
            new IPEndPoint(IPAddress.Loopback, 1));
        socket.Inject(forged, Server);
        Assert.Equal(1, mux.DroppedPackets);
        socket.Inject(StunResponses.Error(request, 500, "Server Error"), Server);
        var result = await task;
        Assert.Equal(500, result.ErrorCode);
        Assert.Equal("Server Error", result.Error);
    }
}
