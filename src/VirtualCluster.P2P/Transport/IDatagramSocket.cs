using System.Net;

namespace VirtualCluster.P2P.Transport;

/// <summary>Receives one datagram. The span is valid only during the call.</summary>
public delegate void DatagramHandler(ReadOnlySpan<byte> datagram, IPEndPoint source);

/// <summary>
/// A bound datagram socket. <see cref="UdpDatagramSocket"/> is the real one; tests use an in-memory network.
/// Contract: <see cref="Send"/> never throws for network errors (a lost datagram is normal for UDP) and never blocks
/// for long; the handler given to <see cref="Start"/> is called for each datagram, one at a time, from a background
/// thread, until the socket is disposed.
/// </summary>
public interface IDatagramSocket : IDisposable
{
    /// <summary>The address and port this socket is bound to.</summary>
    IPEndPoint LocalEndPoint { get; }

    /// <summary>Sends one datagram; errors are counted, not thrown.</summary>
    void Send(ReadOnlySpan<byte> datagram, IPEndPoint destination);

    /// <summary>
    /// Sends consecutive datagrams packed in <paramref name="datagrams"/>: each <paramref name="segmentSize"/> bytes,
    /// the last one possibly shorter. The default sends them one by one; <see cref="UdpDatagramSocket"/> hands them to
    /// the kernel in one call where it can (UDP segmentation offload).
    /// </summary>
    void SendSegments(ReadOnlySpan<byte> datagrams, int segmentSize, IPEndPoint destination)
    {
        for (var offset = 0; offset < datagrams.Length; offset += segmentSize)
            Send(datagrams.Slice(offset, Math.Min(segmentSize, datagrams.Length - offset)), destination);
    }

    /// <summary>Starts delivering received datagrams to <paramref name="handler"/>. Call once.</summary>
    void Start(DatagramHandler handler);
}
