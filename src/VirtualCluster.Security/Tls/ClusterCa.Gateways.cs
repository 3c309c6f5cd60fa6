using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace VirtualCluster.Security.Tls;

public sealed partial class ClusterCa
{
    /// <summary>The URI SAN of a gateway's certificate: <c>vcluster://gateway/&lt;name&gt;</c>.</summary>
    public static Uri GatewayUri(string name) => new($"{NodeCertificates.Scheme}://gateway/{Uri.EscapeDataString(name)}");

    /// <summary>
    /// Issues a gateway's server certificate (extended key usage serverAuth only) for <paramref name="publicKey"/>
    /// (from the gateway's PKCS#10 request; its private key never leaves the gateway), named by the URI SAN
    /// <see cref="GatewayUri"/>. Agents check it against this CA when they open their tunnel and signaling connections
    /// (wss://) to the gateway, so whoever sits between them sees no machine token.
    /// </summary>
    public X509Certificate2 IssueGatewayCertificate(PublicKey publicKey, string name, TimeSpan lifetime, TimeProvider time)
    {
        var request = new CertificateRequest(new X500DistinguishedName($"CN=VirtualCluster gateway {Sanitize(name)}"), publicKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(TlsFingerprint.ServerAuthOid)], false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddUri(GatewayUri(name));
        request.CertificateExtensions.Add(names.Build(critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        using var issued = Sign(request, lifetime, time);
        return X509CertificateLoader.LoadCertificate(issued.RawData);
    }
}
