using Microsoft.Extensions.Options;

namespace VirtualCluster.P2P.Sctp;

/// <summary>Settings of an <see cref="SctpAssociation"/>. The defaults suit WebRTC data channels over DTLS.</summary>
public sealed class SctpOptions
{
    /// <summary>Local SCTP port (the SDP <c>a=sctp-port</c>). Default 5000, what browsers use.</summary>
    public ushort LocalPort { get; set; } = 5000;

    /// <summary>Remote SCTP port (from the peer's <c>a=sctp-port</c>). Default 5000.</summary>
    public ushort RemotePort { get; set; } = 5000;

    /// <summary>
    /// Largest message this side accepts (RFC 8841 <c>a=max-message-size</c>, which the SDP layer advertises from
    /// this value). A peer that sends a larger one gets the association aborted. Default 262144 (256 KiB, as Chromium).
    /// </summary>
    public int MaxMessageSize { get; set; } = 256 * 1024;

    /// <summary>
    /// Receive buffer in bytes: the advertised receiver window (a_rwnd) and the bound on data held for reassembly
    /// and in-order delivery. Default 1 MiB: about 1 Gbit/s at 8 ms RTT, 170 Mbit/s at 50 ms. Larger windows
    /// let a sender overrun socket buffers on loopback (measured: 4 MiB lost 3 % of packets, 1 MiB none).
    /// </summary>
    public int ReceiveWindow { get; set; } = 1024 * 1024;

    /// <summary>Initial retransmission timeout (RFC 9260 RTO.Initial). Default 1 s.</summary>
    public TimeSpan InitialRto { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Lower bound of the RTO. Default 200 ms (RFC 9260 says 1 s; WebRTC stacks use less for faster recovery).</summary>
    public TimeSpan MinRto { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Upper bound of the RTO. Default 10 s.</summary>
    public TimeSpan MaxRto { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Consecutive unanswered retransmissions or heartbeats after which the peer is considered gone and the
    /// association fails (RFC 9260 Association.Max.Retrans). Default 10.
    /// </summary>
    public int MaxRetransmissions { get; set; } = 10;

    /// <summary>INIT / COOKIE-ECHO retransmissions before setup fails (Max.Init.Retransmits). Default 8.</summary>
    public int MaxInitRetransmissions { get; set; } = 8;

    /// <summary>Heartbeat interval when the association is idle (HB.interval). Default 30 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest wait before a SACK is sent for received DATA (RFC 9260 §6.2, at most 500 ms). Default 20 ms.</summary>
    public TimeSpan DelayedSackTimeout { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// In-order DATA packets received per SACK. RFC 9260 §6.2 says every second packet; gaps, duplicates and
    /// FORWARD-TSN are still acknowledged at once and the delayed-SACK timer bounds the wait, and the sender grows
    /// cwnd by up to this many MTUs per SACK so slow start is not slowed. Acknowledging every fourth packet halves
    /// the SACK traffic and measurably raises throughput on loopback (docs/benchmarks.md). Default 4.
    /// </summary>
    public int PacketsPerSack { get; set; } = 4;

    /// <summary>How long a state cookie stays valid (Valid.Cookie.Life). Default 60 s.</summary>
    public TimeSpan CookieLifetime { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Initial congestion window in bytes; 0 uses the RFC 9260 formula min(4 MTU, max(2 MTU, 4404)). Default 0.</summary>
    public int InitialCongestionWindow { get; set; }

    /// <summary>
    /// Largest amount of outstanding (sent, unacknowledged) data in bytes, whatever cwnd and the peer's window
    /// allow; bounds memory on a fast path. Default 8 MiB.
    /// </summary>
    public int MaxOutstandingBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>
    /// Largest amount of queued, not yet sent data over all channels; a send beyond it throws (wait for
    /// <c>BufferedAmountLow</c>, or use <c>DataChannelStream</c>, which waits by itself). Default 16 MiB.
    /// </summary>
    public long MaxSendBuffer { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// Probe for larger packets once established (RFC 8899 via RFC 8261 §5: a HEARTBEAT padded to the size under
    /// test), up to what the transport accepts (<c>IPacketTransport.MaxProbePacketSize</c>). Unanswered probes
    /// leave the transport's base size in use, so this is safe on any path. Default true.
    /// </summary>
    public bool PathMtuDiscovery { get; set; } = true;

    /// <summary>When a PMTU search ends below the largest size the transport accepts, it is repeated after this long
    /// (RFC 8899 PMTU_RAISE_TIMER), in case the path changed. Default 10 min.</summary>
    public TimeSpan PathMtuRaiseInterval { get; set; } = TimeSpan.FromMinutes(10);
}

internal sealed class SctpOptionsValidator : IValidateOptions<SctpOptions>
{
    public ValidateOptionsResult Validate(string? name, SctpOptions options)
    {
        var errors = new List<string>();
        if (options.LocalPort == 0 || options.RemotePort == 0)
            errors.Add("LocalPort and RemotePort must be 1-65535 (WebRTC uses 5000).");
        if (options.MaxMessageSize is < 1024 or > 64 * 1024 * 1024)
            errors.Add("MaxMessageSize must be between 1024 and 67108864 bytes (default 262144).");
        if (options.ReceiveWindow < 16 * 1024 || options.ReceiveWindow < options.MaxMessageSize / 4)
            errors.Add("ReceiveWindow must be at least 16384 bytes and a quarter of MaxMessageSize (default 1048576).");
        if (options.MinRto <= TimeSpan.Zero || options.InitialRto < options.MinRto || options.MaxRto < options.InitialRto)
            errors.Add("RTO bounds must satisfy 0 < MinRto <= InitialRto <= MaxRto (defaults 200 ms, 1 s, 10 s).");
        if (options.MaxRetransmissions is < 1 or > 100)
            errors.Add("MaxRetransmissions must be between 1 and 100 (default 10).");
        if (options.MaxInitRetransmissions is < 1 or > 100)
            errors.Add("MaxInitRetransmissions must be between 1 and 100 (default 8).");
        if (options.HeartbeatInterval <= TimeSpan.Zero)
            errors.Add("HeartbeatInterval must be positive (default 30 s).");
        if (options.DelayedSackTimeout < TimeSpan.Zero || options.DelayedSackTimeout > TimeSpan.FromMilliseconds(500))
            errors.Add("DelayedSackTimeout must be between 0 and 500 ms (RFC 9260 §6.2; default 20 ms).");
        if (options.PacketsPerSack is < 1 or > 16)
            errors.Add("PacketsPerSack must be between 1 and 16 (default 4; RFC 9260 says 2).");
        if (options.CookieLifetime < TimeSpan.FromSeconds(1))
            errors.Add("CookieLifetime must be at least 1 s (default 60 s).");
        if (options.InitialCongestionWindow < 0)
            errors.Add("InitialCongestionWindow must be 0 (RFC formula) or a positive number of bytes.");
        if (options.MaxOutstandingBytes < 64 * 1024)
            errors.Add("MaxOutstandingBytes must be at least 65536 (default 8388608).");
        if (options.MaxSendBuffer < options.MaxMessageSize)
            errors.Add("MaxSendBuffer must be at least MaxMessageSize (default 16777216).");
        if (options.PathMtuRaiseInterval < TimeSpan.FromSeconds(1))
            errors.Add("PathMtuRaiseInterval must be at least 1 s (default 10 min).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static void ThrowIfInvalid(SctpOptions options)
    {
        var result = new SctpOptionsValidator().Validate(null, options);
        if (result.Failed) throw new OptionsValidationException(nameof(SctpOptions), typeof(SctpOptions), result.Failures);
    }
}
