using System.Globalization;
using VirtualCluster.P2P.Dtls;
using VirtualCluster.P2P.Ice;

namespace VirtualCluster.P2P.Sdp;

/// <summary>The attributes of one SDP level that a data channel needs; everything else is ignored.</summary>
internal sealed class Attributes
{
    private const int MaxCandidates = 64;

    public string? IceUfrag { get; private set; }
    public string? IcePwd { get; private set; }
    public List<DtlsFingerprint> Fingerprints { get; } = [];
    public DtlsSetup? Setup { get; private set; }
    public string? Mid { get; private set; }
    public int? SctpPort { get; private set; }
    public int? LegacySctpPort { get; init; }
    public long? MaxMessageSize { get; private set; }
    public List<IceCandidate> Candidates { get; } = [];
    public bool EndOfCandidates { get; private set; }
    public int Skipped { get; private set; }

    /// <summary>Takes one attribute (the text after "a=").</summary>
    public void Add(string attribute)
    {
        var colon = attribute.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? attribute : attribute[..colon];
        var value = colon < 0 ? "" : attribute[(colon + 1)..].Trim();
        switch (name)
        {
            case "ice-ufrag": IceUfrag ??= value; break;
            case "ice-pwd": IcePwd ??= value; break;
            case "fingerprint":
                if (Fingerprints.Count < 8 && DtlsFingerprint.TryParse(value, out var fingerprint)) Fingerprints.Add(fingerprint);
                break;
            case "setup":
                Setup ??= value.ToLowerInvariant() switch
                {
                    "actpass" => DtlsSetup.ActPass,
                    "active" => DtlsSetup.Active,
                    "passive" => DtlsSetup.Passive,
                    _ => null, // holdconn or junk: treated as absent
                };
                break;
            case "mid":
                if (value.Length is > 0 and <= 32 && Mid is null) Mid = value;
                break;
            case "sctp-port":
                if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536) SctpPort ??= port;
                break;
            case "max-message-size":
                if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var max) && max >= 0) MaxMessageSize ??= max;
                break;
            case "candidate":
                if (Candidates.Count < MaxCandidates && IceCandidate.TryParse(attribute, out var candidate)
                    && candidate.Component == 1 && candidate.Transport == "udp")
                    Candidates.Add(candidate);
                else Skipped++;
                break;
            case "end-of-candidates": EndOfCandidates = true; break;
        }
    }
}
