using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace VirtualCluster.Security.Tls;

public sealed partial class ClusterCa
{
    /// <summary>
    /// Issues a node's client certificate (extended key usage clientAuth only) for the public key of
    /// <paramref name="publicKey"/> (read from the agent's request by <see cref="NodeCertificates.TryReadRequest"/>):
    /// the node and its credential generation go into a URI SAN. The private key never leaves the agent.
    /// </summary>
    public X509Certificate2 IssueClientCertificate(PublicKey publicKey, ClientIdentity identity, TimeSpan lifetime, TimeProvider time)
    {
        var subject = identity.IsControlPlane ? "CN=VirtualCluster control plane" : $"CN=node {Sanitize(identity.NodeId!)}";
        var request = new CertificateRequest(new X500DistinguishedName(subject), publicKey, HashAlgorithmName.SHA256);
        AddClientExtensions(request, identity);
        using var issued = Sign(request, lifetime, time);
        return X509CertificateLoader.LoadCertificate(issued.RawData);
    }

    /// <summary>A control plane's own client certificate with a fresh key (for forwarding agents' requests to the leader).</summary>
    public X509Certificate2 IssueControlPlaneClientCertificate(TimeSpan lifetime, TimeProvider time)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName("CN=VirtualCluster control plane"), key, HashAlgorithmName.SHA256);
        AddClientExtensions(request, ClientIdentity.ControlPlane);
        using var withoutKey = Sign(request, lifetime, time);
        using var withKey = withoutKey.CopyWithPrivateKey(key);
        // Through PKCS#12 so that SslStream on Linux can use the private key.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
    }

    private void AddClientExtensions(CertificateRequest request, ClientIdentity identity)
    {
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(NodeCertificates.ClientAuthOid)], false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddUri(NodeCertificates.IdentityUri(identity));
        request.CertificateExtensions.Add(names.Build(critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
    }

    private X509Certificate2 Sign(CertificateRequest request, TimeSpan lifetime, TimeProvider time)
    {
        var now = time.GetUtcNow();
        var notAfter = now + lifetime;
        if (notAfter > Certificate.NotAfter) notAfter = Certificate.NotAfter;
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // positive
        // Slack for clocks behind ours: a minute, or a tenth of a short lifetime, so that "two thirds of the certificate's
        // life" (when agents renew) stays after its issue.
        var slack = lifetime / 10 < TimeSpan.FromMinutes(1) ? lifetime / 10 : TimeSpan.FromMinutes(1);
        return request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), now - slack, notAfter, serial);
    }
}
