using System.Net;
using VirtualCluster.P2P.Stun;
using VirtualCluster.P2P.Transport;
using VirtualCluster.P2P.Turn;

namespace VirtualCluster.P2P.Tests.Turn;

/// <summary>
/// A TURN server relays the peer's next datagram as ChannelData right after its ChannelBind success response; the
/// client must accept it even when its receive thread reaches it before the code awaiting the response has resumed.
/// </summary>
public sealed class TurnChannelBindTests
{
    private static readonly IPEndPoint Server = new(IPAddress.Parse("203.0.113.1"), 3478);
    private static readonly IPEndPoint Peer = new(IPAddress.Parse("198.51.100.7"), 40000);

    [Fact]
    public async Task ChannelData_right_behind_the_ChannelBind_response_is_delivered()
    {
        // a server that answers every request with success and, for a ChannelBind, at once relays one datagram on
        // the new channel: both land in the client's queue together and are handled one after the other on one thread
        var network = new MemoryNetwork { AutoDeliver = false };
        var server = network.CreateSocket(Server.Address, Server.Port);
        server.Start((datagram, from) =>
        {
            if (!StunMessage.TryParse(datagram, out var request) || request.Class != StunClass.Request) return;
            server.Send(new StunMessageBuilder(request.Method, StunClass.SuccessResponse, request.TransactionId).Build(), from);
            if (request.Method == StunMethod.ChannelBind && request.GetUInt32(StunAttributeType.ChannelNumber) is { } value)
                server.Send(ChannelData.Build((ushort)(value >> 16), "relayed"u8), from);
        });
        using var mux = new PacketMux(network.CreateSocket(IPAddress.Parse("192.0.2.1")), new StunTransactionTable(TimeProvider.System));
        await using var turn = new TurnClient(mux, Server, "u", "p");
        var received = new List<(string Data, IPEndPoint From)>();
        turn.DataReceived = (data, from) => { lock (received) received.Add((System.Text.Encoding.UTF8.GetString(data), from)); };

        var bind = turn.BindChannelAsync(Peer);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!bind.IsCompleted && DateTime.UtcNow < deadline)
        {
            network.DeliverPending(); // request to the server, then its response and the ChannelData, in order
            await Task.Delay(1);
        }
        var number = await bind;

        Assert.Equal(1, turn.ChannelDataReceived);
        Assert.Equal(0, mux.DroppedPackets);
        lock (received) Assert.Equal([("relayed", Peer)], received);
        Assert.InRange(number, ChannelData.MinChannel, ChannelData.MaxChannel);

        // positive control: once bound, sending to the peer goes as ChannelData on the same number
        turn.Send("back"u8, Peer);
        Assert.Contains(network.Sent, s => s.To.Equals(Server) && ChannelData.TryParse(s.Data, out var n, out var d) && n == number && d.SequenceEqual("back"u8.ToArray()));
    }
}
