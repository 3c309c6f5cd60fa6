using System.Diagnostics.Metrics;

namespace VirtualCluster.P2P;

/// <summary>
/// Counters of the P2P layer on the meter "VirtualCluster.P2P" (collect with OpenTelemetry or
/// `dotnet-counters monitor --counters VirtualCluster.P2P`). One shared instance (<see cref="Shared"/>) is used
/// unless a component is given its own, e.g. one created from an <see cref="IMeterFactory"/>.
/// </summary>
public sealed class P2PMetrics
{
    /// <summary>Name of the meter.</summary>
    public const string MeterName = "VirtualCluster.P2P";

    private readonly Counter<long> _dropped;
    private readonly Counter<long> _checks;
    private readonly Counter<long> _connections;
    private readonly Counter<long> _sctpBytes;
    private readonly Counter<long> _sctpRetransmissions;
    private readonly Counter<long> _sctpEvents;
    private readonly Counter<long> _sctpAssociations;
    private readonly Counter<long> _dataChannels;
    private static readonly KeyValuePair<string, object?> Sent = new("direction", "sent"), Received = new("direction", "received");
    private static readonly KeyValuePair<string, object?> FastRetransmit = new("event", "fast-retransmit"), Timeout = new("event", "timeout"), Abandoned = new("event", "abandoned");

    /// <summary>The process-wide instance on a static meter.</summary>
    public static P2PMetrics Shared { get; } = new(new Meter(MeterName));

    /// <summary>Creates the counters on a meter from <paramref name="meterFactory"/>.</summary>
    public P2PMetrics(IMeterFactory meterFactory) : this(meterFactory.Create(MeterName)) { }

    private P2PMetrics(Meter meter)
    {
        _dropped = meter.CreateCounter<long>("vcluster.p2p.packets.dropped", description: "Datagrams dropped, by reason (malformed-stun, malformed-channel-data, unexpected, unmatched-response, bad-integrity).");
        _checks = meter.CreateCounter<long>("vcluster.p2p.ice.checks", description: "ICE connectivity checks sent.");
        _connections = meter.CreateCounter<long>("vcluster.p2p.ice.connections", description: "ICE agents that selected a pair, by pair kind (direct, relayed) and outcome.");
        _sctpBytes = meter.CreateCounter<long>("vcluster.p2p.sctp.bytes", unit: "By", description: "SCTP packet bytes, by direction (sent, received).");
        _sctpRetransmissions = meter.CreateCounter<long>("vcluster.p2p.sctp.retransmissions", description: "SCTP DATA chunks retransmitted.");
        _sctpEvents = meter.CreateCounter<long>("vcluster.p2p.sctp.events", description: "SCTP loss-recovery events, by event (fast-retransmit, timeout, abandoned).");
        _sctpAssociations = meter.CreateCounter<long>("vcluster.p2p.sctp.associations", description: "SCTP associations, by outcome (established, closed, failed, setup-failed).");
        _dataChannels = meter.CreateCounter<long>("vcluster.p2p.datachannels.opened", description: "Data channels opened by peers (DCEP).");
    }

    internal void Dropped(string reason) => _dropped.Add(1, new KeyValuePair<string, object?>("reason", reason));
    internal void CheckSent() => _checks.Add(1);
    internal void Connection(string outcome) => _connections.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
    internal void SctpBytesSent(int bytes) => _sctpBytes.Add(bytes, Sent);
    internal void SctpBytesReceived(int bytes) => _sctpBytes.Add(bytes, Received);
    internal void SctpRetransmitted() => _sctpRetransmissions.Add(1);
    internal void SctpFastRetransmit() => _sctpEvents.Add(1, FastRetransmit);
    internal void SctpTimeout() => _sctpEvents.Add(1, Timeout);
    internal void SctpAbandoned() => _sctpEvents.Add(1, Abandoned);
    internal void SctpAssociation(string outcome) => _sctpAssociations.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
    internal void DataChannelOpened() => _dataChannels.Add(1);
}

/// <summary>Why a datagram was dropped (tags of the dropped-packets counter).</summary>
public static class DropReason
{
    public const string MalformedStun = "malformed-stun";
    public const string MalformedChannelData = "malformed-channel-data";
    public const string Unexpected = "unexpected";
    public const string UnmatchedResponse = "unmatched-response";
    public const string BadIntegrity = "bad-integrity";
}
