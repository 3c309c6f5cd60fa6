using System.Globalization;
using System.Text;
using VirtualCluster.P2P.Dtls;

namespace VirtualCluster.P2P.Sdp;

public sealed partial record DataChannelDescription
{
    /// <summary>
    /// Writes the description as SDP (CRLF line ends) the way browsers write a data-channel-only session: one
    /// <c>m=application 9 UDP/DTLS/SCTP webrtc-datachannel</c> section, bundled (RFC 9143), with trickle ICE advertised,
    /// then inline candidates and, when <see cref="EndOfCandidates"/>, <c>a=end-of-candidates</c>.
    /// </summary>
    /// <param name="sessionId">The o= session id (random per peer connection; RFC 8866 §5.2 wants it unique).</param>
    /// <param name="version">The o= session version, incremented by each new description of the session.</param>
    public string ToSdp(ulong sessionId, ulong version = 2)
    {
        var sb = new StringBuilder(1024);
        void Line(string text) => sb.Append(text).Append("\r\n");
        Line("v=0");
        Line(string.Create(CultureInfo.InvariantCulture, $"o=- {sessionId % 9223372036854775807UL} {version} IN IP4 127.0.0.1"));
        Line("s=-");
        Line("t=0 0");
        Line($"a=group:BUNDLE {Mid}");
        Line("a=msid-semantic: WMS");
        Line("m=application 9 UDP/DTLS/SCTP webrtc-datachannel");
        Line("c=IN IP4 0.0.0.0");
        foreach (var candidate in Candidates) Line("a=" + candidate.ToSdp());
        if (EndOfCandidates) Line("a=end-of-candidates");
        Line($"a=ice-ufrag:{Ice.Ufrag}");
        Line($"a=ice-pwd:{Ice.Password}");
        Line("a=ice-options:trickle");
        foreach (var fingerprint in Fingerprints) Line($"a=fingerprint:{fingerprint}");
        Line($"a=setup:{SetupToken(Setup)}");
        Line($"a=mid:{Mid}");
        Line(string.Create(CultureInfo.InvariantCulture, $"a=sctp-port:{SctpPort}"));
        Line(string.Create(CultureInfo.InvariantCulture, $"a=max-message-size:{MaxMessageSize}"));
        return sb.ToString();
    }

    /// <summary>The a=setup token.</summary>
    public static string SetupToken(DtlsSetup setup) => setup switch
    {
        DtlsSetup.Active => "active",
        DtlsSetup.Passive => "passive",
        _ => "actpass",
    };

    /// <summary>
    /// The DTLS role this side takes, given its own and the peer's a=setup (RFC 8842 §5.3): an answerer to
    /// <c>actpass</c> or <c>passive</c> is active (the client); an offerer is whatever the answer did not take.
    /// </summary>
    public static DtlsRole RoleFor(DtlsSetup local, DtlsSetup remote) => (local, remote) switch
    {
        (DtlsSetup.Active, _) => DtlsRole.Client,
        (DtlsSetup.Passive, _) => DtlsRole.Server,
        (DtlsSetup.ActPass, DtlsSetup.Active) => DtlsRole.Server,
        (DtlsSetup.ActPass, DtlsSetup.Passive) => DtlsRole.Client,
        _ => throw new InvalidOperationException("both descriptions say actpass: the answer must choose active or passive (RFC 8842 §5.3)"),
    };

    /// <summary>The first fingerprint whose hash function we support (all parsed ones are).</summary>
    public DtlsFingerprint PreferredFingerprint =>
        Fingerprints.FirstOrDefault(f => f.Algorithm == "sha-256") ?? Fingerprints[0];
}
