namespace VirtualCluster.P2P.Transport;

/// <summary>Receives one packet of a <see cref="IPacketTransport"/>. The span is valid only during the call.</summary>
public delegate void PacketHandler(ReadOnlySpan<byte> packet);

/// <summary>
/// A connected, message-oriented, unreliable transport to one peer: the seam between the layers of a WebRTC data
/// channel. DTLS (on the ICE-selected path) implements it; SCTP runs on top of it (RFC 8261). Tests implement it
/// in memory, with loss, reordering and duplication, to drive SCTP without DTLS.
/// </summary>
/// <remarks>
/// Contract: <see cref="Send"/> never blocks for long and never throws for network loss (a lost packet is normal);
/// it throws <see cref="ObjectDisposedException"/> or <see cref="InvalidOperationException"/> only once the transport
/// is closed. <see cref="Received"/> is called for each packet, one at a time, from a background thread, in the
/// order the transport got them (which may differ from the order they were sent). <see cref="Closed"/> is raised
/// once, with the reason, when the transport ends (peer close alert, fatal error, or disposal).
/// </remarks>
public interface IPacketTransport : IAsyncDisposable
{
    /// <summary>The largest packet <see cref="Send"/> takes (after DTLS overhead on the path MTU); SCTP sizes its packets by it.</summary>
    int MaxPacketSize { get; }

    /// <summary>
    /// The largest packet <see cref="Send"/> accepts, which the path may or may not carry: what Packetization Layer
    /// PMTU Discovery (RFC 8899; RFC 8261 §5 for SCTP over DTLS) may probe for. <see cref="MaxPacketSize"/> is the
    /// size every path carries. Default: <see cref="MaxPacketSize"/> (no probing).
    /// </summary>
    int MaxProbePacketSize => MaxPacketSize;

    /// <summary>Whether the transport is open (handshake done and not yet closed).</summary>
    bool IsOpen { get; }

    /// <summary>Sends one packet of at most <see cref="MaxPacketSize"/> bytes.</summary>
    void Send(ReadOnlySpan<byte> packet);

    /// <summary>
    /// Starts a burst: until <see cref="EndBurst"/>, packets this thread sends may be held and handed to the network
    /// together (DTLS over UDP packs same-size records into one segmentation-offload send). The caller sends the
    /// burst's packets from one thread and always ends it (try/finally). Default: nothing is held.
    /// </summary>
    void BeginBurst() { }

    /// <summary>Sends whatever the burst holds and ends it.</summary>
    void EndBurst() { }

    /// <summary>Called for every packet received; set it before packets can arrive (before the handshake ends).</summary>
    PacketHandler? Received { get; set; }

    /// <summary>Raised once when the transport closes; the string says why (null for an orderly close).</summary>
    event Action<string?>? Closed;
}
