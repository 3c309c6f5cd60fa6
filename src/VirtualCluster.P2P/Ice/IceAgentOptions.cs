using System.Net;
using Microsoft.Extensions.Options;

namespace VirtualCluster.P2P.Ice;

/// <summary>Which candidates an agent uses.</summary>
public enum IceTransportPolicy
{
    /// <summary>Host, server-reflexive and relayed candidates.</summary>
    All,
    /// <summary>Only relayed candidates (all traffic through TURN).</summary>
    Relay,
}

/// <summary>Settings of an <see cref="IceAgent"/>. Defaults follow RFC 8445 and RFC 7675 unless noted.</summary>
public sealed class IceAgentOptions
{
    /// <summary>STUN and TURN servers. Default none (host candidates only).</summary>
    public IList<IceServer> Servers { get; set; } = [];

    /// <summary>Candidates to use. Default <see cref="IceTransportPolicy.All"/>.</summary>
    public IceTransportPolicy TransportPolicy { get; set; } = IceTransportPolicy.All;

    /// <summary>Local addresses to bind; empty (default) enumerates the interfaces that are up.</summary>
    public IList<IPAddress> LocalAddresses { get; set; } = [];

    /// <summary>Offer loopback addresses as host candidates. Default false (true only makes sense on one machine).</summary>
    public bool IncludeLoopback { get; set; }

    /// <summary>Offer IPv6 addresses (never link-local ones). Default true.</summary>
    public bool IncludeIPv6 { get; set; } = true;

    /// <summary>Local UDP port of the first socket; 0 (default) picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>Ta, the pacing of connectivity checks (RFC 8445 §14.2): on average one new check per Ta. Default 50 ms.</summary>
    public TimeSpan CheckPacing { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How many checks may go out back to back before pacing by <see cref="CheckPacing"/> applies (a token bucket:
    /// one token per Ta, at most this many saved). With the default the first checks of a fresh checklist, the first
    /// check of a pair formed from a trickled candidate, and triggered checks go out the moment they are known instead
    /// of at the next Ta slot; a long checklist is still paced at one per Ta. 1 gives strict RFC 8445 pacing. Default 4.
    /// </summary>
    public int CheckBurst { get; set; } = 4;

    /// <summary>First retransmission timeout of a check (RFC 8445 §14.3: at least 500 ms for one stream). Default 500 ms.</summary>
    public TimeSpan CheckRto { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Cap of the doubling check RTO, so a check that is never answered fails in about 10 s. Default 1.6 s.</summary>
    public TimeSpan MaxCheckRto { get; set; } = TimeSpan.FromMilliseconds(1600);

    /// <summary>Transmissions of one check before its pair fails (Rc of RFC 8489). Default 7.</summary>
    public int MaxCheckTransmissions { get; set; } = 7;

    /// <summary>
    /// How long the controlling agent waits, after the first pair succeeds, for higher-priority pairs still being checked
    /// before it nominates the best valid pair (regular nomination, RFC 8445 §8.1.1). Default 1 s.
    /// </summary>
    public TimeSpan NominationTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a higher-priority pair's check may stay unanswered and still hold back nomination: the larger of this
    /// and 4 × the round trip the best valid pair took. A pair checked for longer (host pairs between two private
    /// networks, which never answer) no longer counts, so the agent nominates without waiting for
    /// <see cref="NominationTimeout"/>, which stays the last resort. A new check on the pair (a triggered check after
    /// the peer's check arrived) restarts its clock; so does a check sent again because a pair to the same relayed
    /// candidate succeeded. Pending pairs through a TURN relay still get the whole <see cref="NominationTimeout"/>.
    /// Default 100 ms.
    /// </summary>
    public TimeSpan NominationPatience { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Mean interval of consent checks on the selected pair, randomized ±20% (RFC 7675 §5.1). Default 5 s.</summary>
    public TimeSpan ConsentInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Consent expires without a successful check for this long; the agent then stops sending (RFC 7675 §5.1). Default 30 s.</summary>
    public TimeSpan ConsentTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long to wait for STUN and TURN servers while gathering. Default 5 s.</summary>
    public TimeSpan GatheringTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Upper bound on candidate pairs (RFC 8445 §6.1.2.5 suggests 100). Default 100.</summary>
    public int MaxPairs { get; set; } = 100;

    /// <summary>SOFTWARE sent to servers; null sends none. Default "VirtualCluster.P2P".</summary>
    public string? Software { get; set; } = "VirtualCluster.P2P";
}

internal sealed class IceAgentOptionsValidator : IValidateOptions<IceAgentOptions>
{
    public ValidateOptionsResult Validate(string? name, IceAgentOptions o)
    {
        var errors = new List<string>();
        if (o.CheckPacing < TimeSpan.FromMilliseconds(5) || o.CheckPacing > TimeSpan.FromSeconds(1))
            errors.Add("CheckPacing (Ta) must be between 5 ms and 1 s; RFC 8445 recommends 50 ms.");
        if (o.CheckBurst is < 1 or > 20)
            errors.Add("CheckBurst must be between 1 (strict pacing by Ta) and 20 (default 4).");
        if (o.CheckRto <= TimeSpan.Zero || o.MaxCheckRto < o.CheckRto)
            errors.Add("CheckRto must be positive and MaxCheckRto at least CheckRto (defaults 500 ms and 1.6 s).");
        if (o.MaxCheckTransmissions is < 1 or > 20)
            errors.Add("MaxCheckTransmissions must be between 1 and 20 (default 7).");
        if (o.NominationTimeout < TimeSpan.Zero)
            errors.Add("NominationTimeout must not be negative.");
        if (o.NominationPatience < TimeSpan.Zero || o.NominationPatience > TimeSpan.FromSeconds(10))
            errors.Add("NominationPatience must be 0-10 s (default 100 ms); set it to NominationTimeout or more to wait for every pair.");
        if (o.ConsentInterval <= TimeSpan.Zero || o.ConsentTimeout <= o.ConsentInterval)
            errors.Add("ConsentInterval must be positive and ConsentTimeout longer than it (RFC 7675: 5 s and 30 s).");
        if (o.GatheringTimeout <= TimeSpan.Zero)
            errors.Add("GatheringTimeout must be positive.");
        if (o.MaxPairs is < 1 or > 1000)
            errors.Add("MaxPairs must be between 1 and 1000.");
        if (o.Port is < 0 or > 65535)
            errors.Add("Port must be 0 (any) or a UDP port number.");
        foreach (var s in o.Servers)
        {
            if (s.Kind == IceServerKind.Turn && (string.IsNullOrEmpty(s.Username) || s.Password is null))
                errors.Add($"TURN server {s.Host}:{s.Port} needs Username and Password.");
        }
        if (o.TransportPolicy == IceTransportPolicy.Relay && !o.Servers.Any(s => s.Kind == IceServerKind.Turn))
            errors.Add("TransportPolicy Relay needs at least one TURN server in Servers.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static void ThrowIfInvalid(IceAgentOptions options)
    {
        var result = new IceAgentOptionsValidator().Validate(null, options);
        if (result.Failed) throw new OptionsValidationException(nameof(IceAgentOptions), typeof(IceAgentOptions), result.Failures);
    }
}
