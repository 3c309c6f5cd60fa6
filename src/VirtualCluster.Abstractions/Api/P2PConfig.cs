using System.Text.Json.Serialization;

namespace VirtualCluster.Api;

/// <summary>Answer of GET /v1/p2p/config: the cluster's STUN/TURN servers, as in WebRTC's RTCConfiguration.</summary>
/// <param name="IceServers">Empty = host candidates only (one LAN, loopback).</param>
public sealed record P2PConfig(IReadOnlyList<IceServerConfig> IceServers);

/// <summary>One STUN or TURN server.</summary>
/// <param name="Urls">e.g. <c>stun:203.0.113.1:3478</c> or <c>turn:203.0.113.1:3478?transport=udp</c>.</param>
/// <param name="Username">TURN user name (TURN only).</param>
/// <param name="Credential">TURN password (TURN only).</param>
public sealed record IceServerConfig(
    string Urls,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Username = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Credential = null);
