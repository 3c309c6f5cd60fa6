using System.Globalization;
using VirtualCluster.P2P.Dtls;
using VirtualCluster.P2P.Ice;

namespace VirtualCluster.P2P.Sdp;

/// <summary>
/// What a data-channel-only session description says (RFC 8866 syntax; ICE attributes RFC 8839; SCTP over DTLS
/// RFC 8841; DTLS roles RFC 8842; BUNDLE RFC 9143): the ICE credentials, the DTLS fingerprint and setup role, the
/// application m-section's mid, SCTP port and max-message-size, and any inline candidates. <see cref="TryParse"/>
/// reads what Chromium, Firefox and libdatachannel send (session- or media-level attributes, the modern
/// <c>UDP/DTLS/SCTP webrtc-datachannel</c> and the legacy <c>DTLS/SCTP 5000</c> + <c>a=sctpmap</c> forms) and
/// ignores everything else; <see cref="ToSdp"/> writes what browsers accept.
/// </summary>
public sealed partial record DataChannelDescription
{
    /// <summary>The largest SDP text accepted (a data-channel description is well under 10 KiB even with many candidates).</summary>
    public const int MaxLength = 64 * 1024;

    /// <summary>max-message-size when the peer does not say (RFC 8841 §6.1: 64 KiB).</summary>
    public const long DefaultMaxMessageSize = 65536;

    /// <summary>ice-ufrag and ice-pwd.</summary>
    public required IceParameters Ice { get; init; }

    /// <summary>The certificate fingerprint(s); the first one whose hash function we know is checked.</summary>
    public required IReadOnlyList<DtlsFingerprint> Fingerprints { get; init; }

    /// <summary>The a=setup role.</summary>
    public required DtlsSetup Setup { get; init; }

    /// <summary>The m-section's identification tag (a=mid), "0" by default.</summary>
    public string Mid { get; init; } = "0";

    /// <summary>The SCTP port (a=sctp-port), 5000 by default.</summary>
    public int SctpPort { get; init; } = 5000;

    /// <summary>The largest message the sender of this description can receive; 0 means no limit (RFC 8841 §6).</summary>
    public long MaxMessageSize { get; init; } = DefaultMaxMessageSize;

    /// <summary>Candidates carried inline (not trickled).</summary>
    public IReadOnlyList<IceCandidate> Candidates { get; init; } = [];

    /// <summary>Whether a=end-of-candidates was present.</summary>
    public bool EndOfCandidates { get; init; }

    /// <summary>Candidate lines that did not parse (mDNS names, TCP, malformed): skipped, counted here.</summary>
    public int SkippedCandidates { get; init; }

    /// <summary>
    /// Reads a description. Returns false with <paramref name="error"/> naming what is missing or wrong; never throws.
    /// Unknown lines and attributes are ignored; audio/video m-sections are skipped.
    /// </summary>
    public static bool TryParse(string? sdp, out DataChannelDescription? description, out string error)
    {
        description = null;
        if (string.IsNullOrWhiteSpace(sdp)) return Fail("the SDP is empty", out error);
        if (sdp.Length > MaxLength) return Fail($"the SDP is {sdp.Length} characters; at most {MaxLength} are accepted", out error);
        var lines = sdp.Split('\n');
        if (!lines[0].TrimEnd('\r').StartsWith("v=0", StringComparison.Ordinal)) return Fail("the SDP must start with 'v=0' (RFC 8866 §5.1)", out error);

        // session level, then the first usable application m-section
        var session = new Attributes();
        Attributes? media = null;
        var inApplication = false;
        var sawMedia = false;
        string? mediaProblem = null;
        foreach (var raw in lines)
        {
            var line = raw.TrimEnd('\r');
            if (line.Length < 2 || line[1] != '=') continue;
            if (line[0] == 'm')
            {
                sawMedia = true;
                if (media is not null) { inApplication = false; continue; } // only the first data section is used
                inApplication = IsDataSection(line, out mediaProblem, out var legacyPort);
                if (inApplication) media = new Attributes { LegacySctpPort = legacyPort };
                continue;
            }
            if (line[0] != 'a') continue;
            var target = media is not null && inApplication ? media : !sawMedia ? session : null;
            target?.Add(line[2..]);
        }
        if (media is null)
            return Fail(mediaProblem ?? "the SDP has no 'm=application ... UDP/DTLS/SCTP webrtc-datachannel' section: data channels need one", out error);

        var ufrag = media.IceUfrag ?? session.IceUfrag;
        var pwd = media.IcePwd ?? session.IcePwd;
        if (ufrag is null || pwd is null) return Fail("a=ice-ufrag and a=ice-pwd are required (RFC 8839 §5.4)", out error);
        var ice = new IceParameters(ufrag, pwd);
        if (!ice.IsValid) return Fail("a=ice-ufrag must be 4-256 and a=ice-pwd 22-256 ice-chars (RFC 8839 §5.4)", out error);
        var fingerprints = media.Fingerprints.Count > 0 ? media.Fingerprints : session.Fingerprints;
        if (fingerprints.Count == 0) return Fail("a=fingerprint with a known hash function (sha-256) is required (RFC 8122)", out error);
        var setup = media.Setup ?? session.Setup ?? DtlsSetup.ActPass; // RFC 8842: an offer without a=setup means actpass
        var port = media.SctpPort ?? media.LegacySctpPort ?? 5000;
        description = new DataChannelDescription
        {
            Ice = ice,
            Fingerprints = fingerprints,
            Setup = setup,
            Mid = media.Mid ?? "0",
            SctpPort = port,
            MaxMessageSize = media.MaxMessageSize ?? DefaultMaxMessageSize,
            Candidates = media.Candidates,
            EndOfCandidates = media.EndOfCandidates,
            SkippedCandidates = media.Skipped,
        };
        error = "";
        return true;
    }

    private static bool IsDataSection(string line, out string? problem, out int? legacyPort)
    {
        problem = null;
        legacyPort = null;
        var parts = line[2..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 4 || parts[0] != "application") return false;
        if (parts[2] is "UDP/DTLS/SCTP" or "TCP/DTLS/SCTP" && parts[3] == "webrtc-datachannel")
        {
            if (parts[1] == "0") { problem = "the data-channel m-section has port 0: the peer rejected data channels"; return false; }
            return true;
        }
        if (parts[2] == "DTLS/SCTP" && int.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536)
        {
            legacyPort = port; // draft-ietf-mmusic-sctp-sdp-05 form, still sent by old peers
            return true;
        }
        return false;
    }

    private static bool Fail(string message, out string error)
    {
        error = message;
        return false;
    }
}
