using Microsoft.Extensions.Options;
using VirtualCluster.P2P.Dtls;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.Sctp;

namespace VirtualCluster.P2P.PeerConnections;

/// <summary>Settings of a <see cref="PeerConnection"/>: one object per layer, each validated by its own validator.</summary>
public sealed class PeerConnectionOptions
{
    /// <summary>STUN/TURN servers, local addresses and ICE timers.</summary>
    public IceAgentOptions Ice { get; set; } = new();

    /// <summary>MTU and handshake timeout of the DTLS layer.</summary>
    public DtlsTransportOptions Dtls { get; set; } = new();

    /// <summary>SCTP settings (the ports are set from the descriptions).</summary>
    public SctpOptions Sctp { get; set; } = new();

    /// <summary>This peer's DTLS certificate; a fresh ECDSA P-256 one per connection when null (the default).</summary>
    public DtlsCertificate? Certificate { get; set; }

    /// <summary>How long CreateOffer/CreateAnswer wait for gathering to finish so candidates go inline; later ones are
    /// trickled through <see cref="PeerConnection.IceCandidate"/>. Default 0: the description goes out at once with the
    /// host candidates (bound synchronously) and server-reflexive and relayed ones trickle, as browsers do. Waiting
    /// delays the peer's start by the whole gathering time (a TURN Allocate with its 401 round), which measured 50-110 ms
    /// of setup on the NAT lab per description; set it (up to 10 s) for a peer that cannot take trickled candidates.</summary>
    public TimeSpan InlineCandidateWait { get; set; } = TimeSpan.Zero;
}

internal sealed class PeerConnectionOptionsValidator : IValidateOptions<PeerConnectionOptions>
{
    public ValidateOptionsResult Validate(string? name, PeerConnectionOptions o)
    {
        var errors = new List<string>();
        if (o.Ice is null) errors.Add($"{nameof(PeerConnectionOptions.Ice)} is null: leave the default or set an IceAgentOptions");
        if (o.Dtls is null) errors.Add($"{nameof(PeerConnectionOptions.Dtls)} is null: leave the default or set a DtlsTransportOptions");
        if (o.Sctp is null) errors.Add($"{nameof(PeerConnectionOptions.Sctp)} is null: leave the default or set an SctpOptions");
        if (o.InlineCandidateWait < TimeSpan.Zero || o.InlineCandidateWait > TimeSpan.FromSeconds(10))
            errors.Add($"{nameof(PeerConnectionOptions.InlineCandidateWait)} is {o.InlineCandidateWait}: use 0-10 s");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static void ThrowIfInvalid(PeerConnectionOptions options)
    {
        var result = new PeerConnectionOptionsValidator().Validate(null, options);
        if (result.Failed) throw new OptionsValidationException(nameof(PeerConnectionOptions), typeof(PeerConnectionOptions), result.Failures);
    }
}

/// <summary>The overall state of a <see cref="PeerConnection"/> (as <c>RTCPeerConnectionState</c>, without disconnected).</summary>
public enum PeerConnectionState
{
    /// <summary>No remote description yet.</summary>
    New,
    /// <summary>ICE, DTLS or SCTP is being set up.</summary>
    Connecting,
    /// <summary>The SCTP association is up: channels open and carry data.</summary>
    Connected,
    /// <summary>A layer failed (ICE found no path or consent expired, DTLS refused the peer, SCTP gave up); see <see cref="PeerConnection.FailureReason"/>.</summary>
    Failed,
    /// <summary>Closed by either side.</summary>
    Closed,
}
