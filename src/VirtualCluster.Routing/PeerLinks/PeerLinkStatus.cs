namespace VirtualCluster.Routing.PeerLinks;

/// <summary>What a gateway knows about its link to one node (one row of GET /v1/gateway/links).</summary>
/// <param name="Node">The node (its signaling peer name).</param>
/// <param name="Path">"direct" or "relayed" while connected (from the selected ICE pair), else null.</param>
/// <param name="State">"connecting", "connected" or "failed".</param>
/// <param name="RttMs">Round-trip time: SCTP's smoothed RTT, or the ICE check's; null before one is measured.</param>
/// <param name="BytesSent">Bytes sent to the node over proxied connections of this link (all its peer connections).</param>
/// <param name="BytesReceived">Bytes received likewise.</param>
/// <param name="Since">When the link entered its current state.</param>
/// <param name="LastError">Why the last attempt or link failed, if one did.</param>
/// <param name="Dials">Proxied connections opened over the link.</param>
public sealed record PeerLinkStatus(string Node, string? Path, string State, double? RttMs, long BytesSent, long BytesReceived,
    DateTimeOffset Since, string? LastError, long Dials);
