using Microsoft.Extensions.Options;

namespace VirtualCluster.P2P.Dtls;

/// <summary>Which side of the DTLS handshake this peer takes (RFC 8842: from <c>a=setup</c>; active = client).</summary>
public enum DtlsRole
{
    /// <summary>Sends the ClientHello (<c>a=setup:active</c>).</summary>
    Client,
    /// <summary>Waits for the ClientHello (<c>a=setup:passive</c>).</summary>
    Server,
}

/// <summary>Settings of a <see cref="DtlsTransport"/>.</summary>
public sealed class DtlsTransportOptions
{
    /// <summary>The largest datagram sent, DTLS record included. Default 1200: fits IPv6 plus TURN ChannelData on any
    /// path with a 1280-byte MTU, as browsers assume.</summary>
    public int Mtu { get; set; } = 1200;

    /// <summary>
    /// The largest datagram SCTP may probe for with Packetization Layer PMTU Discovery (RFC 8899, RFC 8261 §5)
    /// once the handshake is done; 0 turns probing off. A path that does not carry a probe just loses it and
    /// <see cref="Mtu"/> stays in use; loopback and jumbo-frame LANs then carry fewer, larger records (far less CPU
    /// per byte). Default 0, because the peer's stack must survive the probe too: Chromium stops answering after
    /// one 16 KiB datagram (its WebRTC DTLS transport expects at most about 2 KiB), while libdatachannel and this
    /// stack take it. Turn it on where both ends are this stack (the gateway's peer links do), up to
    /// <see cref="MaxRecordDatagram"/>.
    /// </summary>
    public int MaxProbeMtu { get; set; }

    /// <summary>A DTLS 1.2 AES-GCM record of the largest plaintext (2^14 bytes) and its 37 bytes of overhead.</summary>
    public const int MaxRecordDatagram = (1 << 14) + 37;

    /// <summary>How long the handshake may take, retransmissions included, before the transport fails. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Records from the peer queued while the application is slow to take them; more are dropped (like a
    /// full socket buffer; SCTP retransmits). Default 8192.</summary>
    public int ReceiveQueueCapacity { get; set; } = 8192;
}

internal sealed class DtlsTransportOptionsValidator : IValidateOptions<DtlsTransportOptions>
{
    public ValidateOptionsResult Validate(string? name, DtlsTransportOptions o)
    {
        var errors = new List<string>();
        if (o.Mtu is < 576 or > 9000)
            errors.Add($"{nameof(DtlsTransportOptions.Mtu)} is {o.Mtu}: use 576-9000 bytes (1200 suits every path)");
        if (o.MaxProbeMtu != 0 && (o.MaxProbeMtu < o.Mtu || o.MaxProbeMtu > DtlsTransportOptions.MaxRecordDatagram))
            errors.Add($"{nameof(DtlsTransportOptions.MaxProbeMtu)} is {o.MaxProbeMtu}: use 0 (no probing) or {nameof(DtlsTransportOptions.Mtu)} ({o.Mtu}) to {DtlsTransportOptions.MaxRecordDatagram} bytes (one full DTLS record)");
        if (o.HandshakeTimeout < TimeSpan.FromSeconds(1) || o.HandshakeTimeout > TimeSpan.FromMinutes(5))
            errors.Add($"{nameof(DtlsTransportOptions.HandshakeTimeout)} is {o.HandshakeTimeout}: use 1 s to 5 min (retransmissions start at 1 s)");
        if (o.ReceiveQueueCapacity is < 16 or > 1_000_000)
            errors.Add($"{nameof(DtlsTransportOptions.ReceiveQueueCapacity)} is {o.ReceiveQueueCapacity}: use 16-1000000 records");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static void ThrowIfInvalid(DtlsTransportOptions options)
    {
        var result = new DtlsTransportOptionsValidator().Validate(null, options);
        if (result.Failed) throw new OptionsValidationException(nameof(DtlsTransportOptions), typeof(DtlsTransportOptions), result.Failures);
    }
}

/// <summary>The DTLS handshake failed: timeout, a refused certificate (fingerprint mismatch), or an alert from the peer.</summary>
public sealed class DtlsHandshakeException(string message, Exception? inner = null) : Exception(message, inner);
