using System.Collections.Concurrent;
using System.Net;
using VirtualCluster.P2P.Stun;

namespace VirtualCluster.P2P.Transport;

/// <summary>Receives the STUN requests and indications that a <see cref="PacketMux"/> does not route elsewhere.</summary>
public delegate void StunMessageHandler(StunMessage message, IPEndPoint source);

/// <summary>Receives what arrives from a registered TURN server: STUN indications and ChannelData.</summary>
public interface ITurnServerSink
{
    /// <summary>A STUN request or indication (e.g. a Data indication) from the server.</summary>
    void OnServerMessage(StunMessage message);

    /// <summary>A ChannelData message (first byte 64-79) from the server.</summary>
    void OnChannelData(ReadOnlySpan<byte> datagram);
}

/// <summary>
/// One UDP socket shared by STUN, TURN, ICE and (later) DTLS, demultiplexed by the first byte as RFC 7983 §7 says:
/// 0-3 STUN, 20-63 DTLS, 64-79 TURN ChannelData (only from a registered TURN server), anything else application data.
/// STUN responses complete transactions in the shared <see cref="StunTransactionTable"/>; malformed datagrams are
/// dropped and counted (<see cref="DroppedPackets"/> and the P2P meter), never thrown.
/// </summary>
public sealed class PacketMux : IDisposable
{
    private readonly IDatagramSocket _socket;
    private readonly P2PMetrics _metrics;
    private readonly ConcurrentDictionary<IPEndPoint, ITurnServerSink> _turnServers = new();
    private long _dropped;

    /// <summary>Wraps <paramref name="socket"/> and starts receiving.</summary>
    public PacketMux(IDatagramSocket socket, StunTransactionTable transactions, P2PMetrics? metrics = null)
    {
        _socket = socket;
        Transactions = transactions;
        _metrics = metrics ?? P2PMetrics.Shared;
        socket.Start(OnDatagram);
    }

    /// <summary>The bound address.</summary>
    public IPEndPoint LocalEndPoint => _socket.LocalEndPoint;

    /// <summary>Where STUN responses are matched to requests.</summary>
    public StunTransactionTable Transactions { get; }

    /// <summary>Datagrams dropped as malformed, unexpected or unmatched.</summary>
    public long DroppedPackets => Interlocked.Read(ref _dropped);

    /// <summary>STUN requests and indications not from a TURN server (ICE connectivity checks).</summary>
    public StunMessageHandler? StunReceived { get; set; }

    /// <summary>DTLS records (first byte 20-63). When null, they go to <see cref="DataReceived"/>.</summary>
    public DatagramHandler? DtlsReceived { get; set; }

    /// <summary>Any other datagram (application data).</summary>
    public DatagramHandler? DataReceived { get; set; }

    /// <summary>Routes ChannelData and STUN indications from <paramref name="server"/> to <paramref name="sink"/>.</summary>
    public void RegisterTurnServer(IPEndPoint server, ITurnServerSink sink) => _turnServers[server] = sink;

    /// <summary>Stops routing a TURN server's datagrams.</summary>
    public void UnregisterTurnServer(IPEndPoint server) => _turnServers.TryRemove(server, out _);

    /// <summary>Sends one datagram.</summary>
    public void Send(ReadOnlySpan<byte> datagram, IPEndPoint destination) => _socket.Send(datagram, destination);

    /// <summary>Sends datagrams of <paramref name="segmentSize"/> bytes packed together (see <see cref="IDatagramSocket.SendSegments"/>).</summary>
    public void SendSegments(ReadOnlySpan<byte> datagrams, int segmentSize, IPEndPoint destination) => _socket.SendSegments(datagrams, segmentSize, destination);

    /// <summary>Counts a dropped datagram (also used by layers above for what they reject).</summary>
    public void Drop(string reason)
    {
        Interlocked.Increment(ref _dropped);
        _metrics.Dropped(reason);
    }

    /// <summary>Classifies one datagram (RFC 7983 §7). Public so that tests and fuzzers can feed it directly.</summary>
    public void OnDatagram(ReadOnlySpan<byte> datagram, IPEndPoint source)
    {
        if (datagram.IsEmpty)
        {
            Drop(DropReason.Unexpected);
            return;
        }
        var first = datagram[0];
        if (first <= 3)
        {
            if (!StunMessage.TryParse(datagram, out var message))
            {
                Drop(DropReason.MalformedStun);
                return;
            }
            if (message.Class is StunClass.SuccessResponse or StunClass.ErrorResponse)
            {
                if (!Transactions.TryComplete(message, source)) Drop(DropReason.UnmatchedResponse);
                return;
            }
            if (_turnServers.TryGetValue(source, out var turn)) turn.OnServerMessage(message);
            else if (StunReceived is { } handler) handler(message, source);
            else Drop(DropReason.Unexpected);
            return;
        }
        if (first is >= 64 and <= 79 && _turnServers.TryGetValue(source, out var server))
        {
            server.OnChannelData(datagram);
            return;
        }
        var target = first is >= 20 and <= 63 ? DtlsReceived ?? DataReceived : DataReceived;
        if (target is null) Drop(DropReason.Unexpected);
        else target(datagram, source);
    }

    /// <inheritdoc />
    public void Dispose() => _socket.Dispose();
}
