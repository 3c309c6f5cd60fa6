using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace VirtualCluster.Security.Tls;

/// <summary>
/// The cluster's own certificate authority: an ECDSA P-256 key and a self-signed certificate that signs the control
/// planes' server certificates. Clients trust it by its fingerprint (carried in join tokens), not by a system store,
/// so nobody has to install it anywhere.
/// </summary>
public sealed partial class ClusterCa : IDisposable
{
    /// <summary>How long a CA made by <see cref="Create"/> is valid.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(3650);

    private readonly ECDsa _key;

    private ClusterCa(X509Certificate2 certificate, ECDsa key)
    {
        Certificate = certificate;
        _key = key;
        Fingerprint = TlsFingerprint.Of(certificate);
    }

    /// <summary>The CA certificate (public part only).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary><c>sha256:</c> and the lower-case hex SHA-256 of the certificate's DER bytes.</summary>
    public string Fingerprint { get; }

    /// <summary>Makes a new CA named after the cluster.</summary>
    public static ClusterCa Create(string clusterName, TimeProvider time)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN=VirtualCluster CA {Sanitize(clusterName)}"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = time.GetUtcNow();
        var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now + Lifetime);
        // Keep only the public certificate here; the key stays in its own object for signing.
        return new ClusterCa(X509CertificateLoader.LoadCertificate(certificate.RawData), key);
    }

    /// <summary>Loads a CA from PEM text (a user-supplied one, or the cluster's from the store).</summary>
    /// <exception cref="ArgumentException">The PEM is not a CA certificate with its ECDSA or RSA key.</exception>
    public static ClusterCa FromPem(string certificatePem, string keyPem)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(certificatePem);
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException($"The CA certificate is not a PEM certificate: {e.Message}", e);
        }
        if (certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is not { CertificateAuthority: true })
            throw new ArgumentException($"The certificate {certificate.Subject} is not a CA (its basic constraints do not say CA:true).");
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(keyPem);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            key.Dispose();
            throw new ArgumentException($"The CA key is not a PEM ECDSA private key: {e.Message}", e);
        }
        using var publicKey = certificate.GetECDsaPublicKey();
        if (publicKey is null || !publicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
        {
            key.Dispose();
            throw new ArgumentException("The CA key does not belong to the CA certificate.");
        }
        return new ClusterCa(X509CertificateLoader.LoadCertificate(certificate.RawData), key);
    }

    /// <summary>The certificate as PEM.</summary>
    public string CertificatePem() => Certificate.ExportCertificatePem();

    /// <summary>The private key as PKCS#8 PEM: only for the cluster store or a file readable by its owner.</summary>
    public string KeyPem() => _key.ExportPkcs8PrivateKeyPem();

    /// <summary>
    /// Issues a server certificate (extended key usage serverAuth only) for the given names and addresses, with a
    /// fresh P-256 key. Clients pinned to this CA accept it; a node's client certificate could not pass as a server.
    /// </summary>
    public X509Certificate2 IssueServerCertificate(IEnumerable<string> dnsNames, IEnumerable<IPAddress> addresses, TimeSpan lifetime, TimeProvider time)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var names = new SubjectAlternativeNameBuilder();
        var first = "localhost";
        var dns = dnsNames.Where(n => !string.IsNullOrWhiteSpace(n)).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        foreach (var name in dns) names.AddDnsName(name);
        foreach (var address in addresses.Distinct()) names.AddIpAddress(address);
        if (dns.Count > 0) first = dns[0];
        var request = new CertificateRequest(new X500DistinguishedName($"CN={Sanitize(first)}"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(TlsFingerprint.ServerAuthOid)], false));
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        var now = time.GetUtcNow();
        var notAfter = now + lifetime;
        if (notAfter > Certificate.NotAfter) notAfter = Certificate.NotAfter;
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // positive
        using var withoutKey = request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), now.AddMinutes(-5), notAfter, serial);
        using var withKey = withoutKey.CopyWithPrivateKey(key);
        // Through PKCS#12 so that SslStream on Linux can use the private key (an ephemeral key cannot be used by it).
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _key.Dispose();
        Certificate.Dispose();
    }

    private static string Sanitize(string text) =>
        new(text.Where(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or ' ').Take(60).ToArray());
}
