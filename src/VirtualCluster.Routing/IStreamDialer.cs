namespace VirtualCluster.Routing;

/// <summary>
/// Opens a bidirectional byte stream to a TCP port on a node's loopback, however the node is reached: the agent's
/// outbound tunnel today, a WebRTC data channel later. The gateway's proxy sees only this.
/// </summary>
public interface IStreamDialer
{
    /// <summary>True when a stream to <paramref name="nodeId"/> can be opened now.</summary>
    bool CanReach(string nodeId);

    /// <summary>Opens a stream to <paramref name="port"/> on the loopback of <paramref name="nodeId"/>.</summary>
    /// <exception cref="Tunnel.TunnelRefusedException">No path to the node, or the node refused (not an instance port, nothing listening).</exception>
    /// <exception cref="IOException">The path broke while opening.</exception>
    ValueTask<Stream> DialAsync(string nodeId, int port, CancellationToken cancellationToken = default);
}
