using VirtualCluster.P2P.DataChannels;

namespace VirtualCluster.P2P.Sctp;

/// <summary>Public state of an <see cref="SctpAssociation"/>.</summary>
public enum SctpAssociationState
{
    /// <summary>Created; <see cref="SctpAssociation.ConnectAsync"/> not called and no INIT from the peer yet.</summary>
    New,
    /// <summary>INIT / COOKIE exchange in progress.</summary>
    Connecting,
    /// <summary>Established: channels can open and carry data.</summary>
    Open,
    /// <summary>Graceful shutdown in progress.</summary>
    Closing,
    /// <summary>Ended (shutdown, abort, failure or disposal); <see cref="SctpAssociation.CloseReason"/> says why.</summary>
    Closed,
}

/// <summary>Thrown when an association cannot be set up or has ended.</summary>
public sealed class SctpException(string message) : Exception(message);

/// <summary>A user message waiting to be sent or in flight; pooled, its buffer rented from the array pool.</summary>
internal sealed class OutboundMessage
{
    public byte[] Buffer = [];
    public int Length;
    public int Offset;
    public ushort Stream;
    public ushort Ssn;
    public uint Ppid;
    public bool Unordered;
    public int MaxRetransmits = -1;
    public long ExpiresAt = long.MaxValue;
    public DataChannel? Channel;
    public int Refs;
    public bool Abandoned;
    public bool Started;
    public uint FirstTsn;
    public uint LastTsn;
}

/// <summary>A DATA chunk sent and not yet cumulatively acknowledged (a slot of the outbound ring).</summary>
internal struct InflightChunk
{
    public OutboundMessage Message;
    public int Offset;
    public int Length;
    public byte Flags;
    public int Transmissions;
    public long SentAt;
    /// <summary>Order of this chunk's latest transmission among all transmissions (new and retransmitted).</summary>
    public long SendOrder;
    public int Misses;
    public bool GapAcked;
    public bool Abandoned;
    public bool MarkedForRetransmit;
    public bool InFlight;
    public bool FastRetransmitted;
}

/// <summary>A received DATA chunk above the cumulative TSN or awaiting reassembly (a slot of the inbound ring).</summary>
internal struct ReceiveSlot
{
    public uint Tsn;
    public bool Received;
    public byte[]? Data;
    public int Length;
    public ushort Stream;
    public ushort Ssn;
    public uint Ppid;
    public byte Flags;
}

/// <summary>An assembled ordered message waiting for its turn.</summary>
internal struct PendingMessage
{
    public ushort Ssn;
    public uint Ppid;
    public byte[] Data;
    public int Length;
}

/// <summary>Per-stream receive state: next expected SSN and ordered messages that arrived early.</summary>
internal sealed class InboundStream
{
    public ushort ExpectedSsn;
    public List<PendingMessage>? Pending;
}

/// <summary>Something to tell the user, queued under the lock and raised outside it, in order.</summary>
internal enum EventKind : byte { Message, ChannelOpen, RemoteChannel, ChannelClosed, BufferedAmountLow, AssociationOpen, AssociationClosed }

internal struct PendingEvent
{
    public EventKind Kind;
    public DataChannel? Channel;
    public byte[]? Data;
    public int Length;
    public bool Binary;
    public string? Reason;
}
