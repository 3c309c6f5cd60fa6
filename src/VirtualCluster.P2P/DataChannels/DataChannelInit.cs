namespace VirtualCluster.P2P.DataChannels;

/// <summary>How a data channel is opened (the W3C RTCDataChannelInit).</summary>
public sealed class DataChannelInit
{
    /// <summary>Whether messages arrive in the order sent. Default true.</summary>
    public bool Ordered { get; set; } = true;

    /// <summary>Partial reliability: how often a message is retransmitted before it is given up (0: sent once). Null (default): reliable. Not together with <see cref="MaxPacketLifeTime"/>.</summary>
    public int? MaxRetransmits { get; set; }

    /// <summary>Partial reliability: how long a message is (re)transmitted before it is given up. Null (default): reliable.</summary>
    public TimeSpan? MaxPacketLifeTime { get; set; }

    /// <summary>Sub-protocol name, carried in DCEP. Default empty.</summary>
    public string Protocol { get; set; } = "";

    /// <summary>True: the application agreed the channel with the peer out of band (both sides create it with the same <see cref="Id"/>); no DCEP. Default false.</summary>
    public bool Negotiated { get; set; }

    /// <summary>Stream id; required when <see cref="Negotiated"/>, otherwise null (default) picks a free id of this side's parity.</summary>
    public int? Id { get; set; }

    /// <summary>DCEP priority field (RFC 8832 §5.1). Default 256 ("normal" in the W3C mapping).</summary>
    public ushort Priority { get; set; } = 256;

    internal void Validate()
    {
        if (MaxRetransmits is not null && MaxPacketLifeTime is not null)
            throw new ArgumentException("Set MaxRetransmits or MaxPacketLifeTime, not both (W3C RTCDataChannelInit).");
        if (MaxRetransmits is < 0 or > ushort.MaxValue)
            throw new ArgumentException($"MaxRetransmits is {MaxRetransmits}; it must be between 0 and 65535.");
        if (MaxPacketLifeTime is { } l && (l < TimeSpan.Zero || l.TotalMilliseconds > ushort.MaxValue))
            throw new ArgumentException($"MaxPacketLifeTime is {l}; it must be between 0 and 65535 ms.");
        if (Negotiated && Id is null)
            throw new ArgumentException("A negotiated channel needs an Id agreed with the peer (0-65534).");
        if (Id is < 0 or > 65534)
            throw new ArgumentException($"Id is {Id}; stream ids are 0-65534.");
        if (System.Text.Encoding.UTF8.GetByteCount(Protocol) > ushort.MaxValue)
            throw new ArgumentException("Protocol is longer than 65535 UTF-8 bytes.");
    }
}

/// <summary>State of a <see cref="DataChannel"/> (the W3C RTCDataChannelState).</summary>
public enum DataChannelState
{
    /// <summary>Waiting for the association to be established.</summary>
    Connecting,
    /// <summary>Messages can be sent and arrive.</summary>
    Open,
    /// <summary>Close() called or the peer reset the stream; queued messages still go out.</summary>
    Closing,
    /// <summary>Closed on both sides (or the association ended).</summary>
    Closed,
}

/// <summary>
/// Receives one message. <paramref name="message"/> is valid only during the call (its buffer is pooled and reused):
/// copy what must outlive it.
/// </summary>
public delegate void DataChannelMessageHandler(DataChannel channel, ReadOnlySpan<byte> message, bool isBinary);
