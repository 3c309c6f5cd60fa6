using System.Net;
using VirtualCluster.P2P.Transport;
using VirtualCluster.P2P.Turn;

namespace VirtualCluster.P2P.Ice;

/// <summary>One bound socket of the agent: its host candidate and the TURN allocations made from it.</summary>
internal sealed class LocalPath(PacketMux mux, int index)
{
    public PacketMux Mux { get; } = mux;
    public int Index { get; } = index;
    public List<TurnClient> TurnClients { get; } = [];
}

/// <summary>A local candidate and how to send from it: through the path's socket, or through a TURN allocation.</summary>
internal sealed class LocalCandidate(IceCandidate candidate, LocalPath path, TurnClient? relay)
{
    public IceCandidate Candidate { get; } = candidate;
    public LocalPath Path { get; } = path;
    public TurnClient? Relay { get; } = relay;

    public void Send(ReadOnlySpan<byte> data, IPEndPoint remote)
    {
        if (Relay is { } turn) turn.Send(data, remote);
        else Path.Mux.Send(data, remote);
    }

    /// <summary>Several datagrams of <paramref name="segmentSize"/> bytes (the last may be shorter) packed in <paramref name="data"/>.</summary>
    public void SendSegments(ReadOnlySpan<byte> data, int segmentSize, IPEndPoint remote)
    {
        if (Relay is null)
        {
            Path.Mux.SendSegments(data, segmentSize, remote);
            return;
        }
        // through TURN each datagram gets its own ChannelData or Send indication
        for (var offset = 0; offset < data.Length; offset += segmentSize)
            Relay.Send(data.Slice(offset, Math.Min(segmentSize, data.Length - offset)), remote);
    }
}
