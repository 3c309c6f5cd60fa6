using System.Net;
using VirtualCluster.P2P.Stun;
using VirtualCluster.P2P.Transport;
using VirtualCluster.P2P.Turn;

namespace VirtualCluster.P2P.Tests.Stun;

/// <summary>RFC 7983 §7 demultiplexing of one socket.</summary>
public sealed class PacketMuxTests
{
    private static readonly IPEndPoint Peer = new(IPAddress.Parse("198.51.100.2"), 9);
    private static readonly IPEndPoint TurnServer = new(IPAddress.Parse("203.0.113.1"), 3478);

    private sealed class Sink : ITurnServerSink
    {
        public List<string> Got { get; } = [];
        public void OnServerMessage(StunMessage message) => Got.Add("stun:" + message.Method);
        public void OnChannelData(ReadOnlySpan<byte> datagram) => Got.Add("channel");
    }

    [Fact]
    public void Datagrams_go_to_STUN_DTLS_TURN_or_data_by_first_byte_and_source()
    {
        var mux = new PacketMux(new RecordingSocket(TimeProvider.System), new StunTransactionTable(TimeProvider.System));
        var got = new List<string>();
        mux.StunReceived = (m, _) => got.Add("stun:" + m.Method);
        mux.DtlsReceived = (d, _) => got.Add("dtls");
        mux.DataReceived = (d, _) => got.Add("data");
        var sink = new Sink();
        mux.RegisterTurnServer(TurnServer, sink);

        var request = new StunMessageBuilder(StunMethod.Binding, StunClass.Request, StunTransactionId.New()).AddFingerprintAndBuild();
        var dataIndication = new StunMessageBuilder(StunMethod.Data, StunClass.Indication, StunTransactionId.New()).Build();
        mux.OnDatagram(request, Peer);                                  // 0-3 STUN from a peer: an ICE check
        mux.OnDatagram(dataIndication, TurnServer);                     // 0-3 STUN from the TURN server
        mux.OnDatagram([22, 254, 253, 0], Peer);                        // 20-63 DTLS handshake record
        mux.OnDatagram(ChannelData.Build(0x4000, "x"u8), TurnServer);  // 64-79 from the TURN server: ChannelData
        mux.OnDatagram(ChannelData.Build(0x4000, "x"u8), Peer);        // 64-79 from anyone else: just data
        mux.OnDatagram([128, 1, 2, 3], Peer);                           // 128-191 (RTP range): data
        mux.OnDatagram([0, 1, 0, 0], Peer);                             // STUN range but not STUN: dropped
        mux.OnDatagram([], Peer);                                       // empty: dropped

        Assert.Equal(["stun:Binding", "dtls", "data", "data"], got);
        Assert.Equal(["stun:Data", "channel"], sink.Got);
        Assert.Equal(2, mux.DroppedPackets);
    }

    [Fact]
    public void Without_a_DTLS_handler_DTLS_records_are_data()
    {
        var mux = new PacketMux(new RecordingSocket(TimeProvider.System), new StunTransactionTable(TimeProvider.System));
        var got = 0;
        mux.DataReceived = (_, _) => got++;
        mux.OnDatagram([23, 254, 253], Peer);
        Assert.Equal(1, got);
    }
}
