using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace VirtualCluster.Security.Tls;

/// <summary>What a check of a client certificate found: who it speaks for, or why it is refused.</summary>
public sealed record ClientCertificateCheck(ClientIdentity? Identity, string? Problem)
{
    /// <summary>True when the certificate is good.</summary>
    public bool Valid => Identity is not null;
}

/// <summary>
/// Checks a client certificate a TLS client presented: it must chain to the cluster CA, carry the extended key usage
/// clientAuth (a server certificate of the same CA does not pass), be valid now (by the caller's clock, so a fake
/// clock can expire it), and name one of the cluster's identities. TLS itself proved the client holds its key.
/// </summary>
public static class ClientCertificateValidator
{
    /// <summary>Checks <paramref name="certificate"/> against <paramref name="ca"/> at <paramref name="now"/>.</summary>
    public static ClientCertificateCheck Check(X509Certificate2 certificate, X509Certificate2 ca, DateTimeOffset now)
    {
        var subject = certificate.Subject;
        if (now < certificate.NotBefore.ToUniversalTime())
            return Refused($"the client certificate ({subject}) is not valid before {certificate.NotBefore.ToUniversalTime():yyyy-MM-dd HH:mm:ss} UTC; check this machine's clock");
        if (now > certificate.NotAfter.ToUniversalTime())
            return Refused($"the client certificate ({subject}) expired at {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm:ss} UTC; the agent renews it before then while it reaches the control plane, else join it again with a join token");
        var usages = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault();
        // A certificate without the extension would be "good for everything" to a chain check: ours always carry it.
        if (usages is null || !usages.EnhancedKeyUsages.Cast<Oid>().Any(o => o.Value == NodeCertificates.ClientAuthOid))
            return Refused($"the certificate ({subject}) is not a client certificate (its extended key usage lacks clientAuth)");
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(NodeCertificates.ClientAuthOid));
        if (!chain.Build(certificate) || TlsFingerprint.Of(chain.ChainElements[^1].Certificate) != TlsFingerprint.Of(ca))
        {
            var status = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
            return Refused($"the client certificate ({subject}, issued by {certificate.Issuer}) does not come from the cluster's CA {TlsFingerprint.Of(ca)}{(status.Length > 0 ? ": " + status : "")}");
        }
        return NodeCertificates.ReadIdentity(certificate) is { } identity
            ? new ClientCertificateCheck(identity, null)
            : Refused($"the client certificate ({subject}) names no node of this cluster (no vcluster://node/... URI)");
    }

    private static ClientCertificateCheck Refused(string problem) => new(null, problem);
}
