using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace VirtualCluster.Security.Tls;

/// <summary>
/// Accepts a TLS server only if its certificate chains to the cluster's CA and is meant for servers (EKU serverAuth).
/// The CA is given as a certificate, or named by fingerprint: then it is learnt from the server's chain when sent
/// there, or fetched first by <see cref="CaDiscovery"/> and checked against the fingerprint (.NET servers leave a
/// self-signed root out of the chain they send).
/// Host names are not compared: the pinned CA signs only the cluster's control planes, and agents reach them at
/// addresses a certificate made at start cannot always list (NAT, port forwards). A man in the middle would need a
/// certificate from this very CA.
/// </summary>
public sealed class PinnedCaValidator
{
    private readonly string _fingerprint;
    private volatile X509Certificate2? _ca;

    private PinnedCaValidator(string fingerprint, X509Certificate2? ca)
    {
        _fingerprint = fingerprint;
        _ca = ca;
    }

    /// <summary>What the last refusal was about, for the caller's error message.</summary>
    public string? LastProblem { get; private set; }

    /// <summary>Trusts the CA with this fingerprint (see <see cref="TlsFingerprint"/>).</summary>
    public static PinnedCaValidator ForFingerprint(string fingerprint) => new(fingerprint, null);

    /// <summary>Trusts this CA certificate.</summary>
    public static PinnedCaValidator ForCertificate(X509Certificate2 ca) => new(TlsFingerprint.Of(ca), ca);

    /// <summary>The pinned fingerprint.</summary>
    public string Fingerprint => _fingerprint;

    /// <summary>The CA certificate once known (given, learnt or discovered); null before.</summary>
    public X509Certificate2? Ca => _ca;

    /// <summary>Takes <paramref name="ca"/> as the trust anchor if its fingerprint is the pinned one.</summary>
    public bool TryLearn(X509Certificate2 ca, out string? problem)
    {
        var fingerprint = TlsFingerprint.Of(ca);
        if (fingerprint != _fingerprint)
        {
            problem = $"the server offered the CA {fingerprint} ({ca.Subject}), not the cluster's CA {_fingerprint}: another cluster's server, or a man in the middle";
            LastProblem = problem;
            return false;
        }
        _ca = X509CertificateLoader.LoadCertificate(ca.RawData);
        problem = null;
        return true;
    }

    /// <summary>A <see cref="RemoteCertificateValidationCallback"/>.</summary>
    public bool Validate(object? sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
            return Refuse("the server sent no certificate");
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        var ca = _ca ?? FindSent(chain);
        if (ca is null)
            return Refuse($"the server's certificate ({leaf.Subject}) does not come from the cluster's CA {_fingerprint}: another server, or a man in the middle");
        using var check = new X509Chain();
        check.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        check.ChainPolicy.CustomTrustStore.Add(ca);
        check.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        check.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(TlsFingerprint.ServerAuthOid));
        if (!check.Build(leaf))
        {
            var status = string.Join("; ", check.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
            return Refuse($"the server's certificate ({leaf.Subject}) is not valid under the cluster's CA {_fingerprint}: {status}");
        }
        var root = check.ChainElements[^1].Certificate;
        if (TlsFingerprint.Of(root) != _fingerprint)
            return Refuse($"the server's certificate chains to {TlsFingerprint.Of(root)}, not to the cluster's CA {_fingerprint}");
        LastProblem = null;
        return true;
    }

    private X509Certificate2? FindSent(X509Chain? chain)
    {
        if (chain is null) return null;
        foreach (var element in chain.ChainElements)
            if (TlsFingerprint.Of(element.Certificate) == _fingerprint) return _ca = X509CertificateLoader.LoadCertificate(element.Certificate.RawData);
        foreach (var extra in chain.ChainPolicy.ExtraStore)
            if (TlsFingerprint.Of(extra) == _fingerprint) return _ca = X509CertificateLoader.LoadCertificate(extra.RawData);
        return null;
    }

    private bool Refuse(string problem)
    {
        LastProblem = problem;
        return false;
    }
}
