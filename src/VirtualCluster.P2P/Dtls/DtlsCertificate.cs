using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;

namespace VirtualCluster.P2P.Dtls;

/// <summary>
/// The certificate and private key one peer authenticates its DTLS handshakes with. WebRTC peers use self-signed
/// certificates: the peer trusts the certificate because its fingerprint came in the signaled SDP (RFC 8122, RFC 8827),
/// not because a CA signed it. <see cref="Generate"/> makes an ECDSA P-256 one (what browsers make); a supplied one
/// must have an ECDSA P-256 key.
/// </summary>
public sealed class DtlsCertificate
{
    private DtlsCertificate(byte[] der, AsymmetricKeyParameter privateKey)
    {
        Der = der;
        PrivateKey = privateKey;
        Fingerprint = DtlsFingerprint.Compute("sha-256", der);
    }

    /// <summary>The DER encoding of the X.509 certificate.</summary>
    public byte[] Der { get; }

    /// <summary>The SHA-256 fingerprint to put in <c>a=fingerprint</c>.</summary>
    public DtlsFingerprint Fingerprint { get; }

    internal AsymmetricKeyParameter PrivateKey { get; }

    /// <summary>
    /// A fresh self-signed certificate on a new ECDSA P-256 key, signed with ECDSA-SHA256, valid from a day ago for
    /// <paramref name="lifetime"/> (30 days when null), with a random positive serial number and CN=WebRTC.
    /// </summary>
    public static DtlsCertificate Generate(TimeSpan? lifetime = null, TimeProvider? timeProvider = null)
    {
        // the platform's crypto (OpenSSL) makes the key and signs in about a millisecond; BouncyCastle's EC code took
        // 10-45 ms per certificate, and every peer connection makes one before its description can go out
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var now = (timeProvider ?? TimeProvider.System).GetUtcNow();
        var request = new CertificateRequest(new X500DistinguishedName("CN=WebRTC"), key, HashAlgorithmName.SHA256);
        var serial = new byte[8];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F; // positive
        serial[0] |= 0x01; // and not zero
        using var signer = request.Create(request.SubjectName, X509SignatureGenerator.CreateForECDsa(key), now.AddDays(-1),
            now + (lifetime ?? TimeSpan.FromDays(30)), serial);
        return new DtlsCertificate(signer.RawData, PrivateKeyFactory.CreateKey(key.ExportPkcs8PrivateKey()));
    }

    /// <summary>Uses a certificate the application already has; it must carry an exportable ECDSA P-256 private key.</summary>
    /// <exception cref="ArgumentException">No private key, not ECDSA, not P-256, or the key cannot be exported.</exception>
    public static DtlsCertificate FromX509(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var ecdsa = certificate.GetECDsaPrivateKey()
            ?? throw new ArgumentException("the certificate has no ECDSA private key: supply one with an ECDSA P-256 key, or use DtlsCertificate.Generate()", nameof(certificate));
        if (ecdsa.KeySize != 256)
            throw new ArgumentException($"the certificate's ECDSA key has {ecdsa.KeySize} bits; WebRTC peers expect P-256", nameof(certificate));
        byte[] pkcs8;
        try
        {
            pkcs8 = ecdsa.ExportPkcs8PrivateKey();
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException($"the certificate's private key cannot be exported ({e.Message}): load it with X509KeyStorageFlags.Exportable", nameof(certificate), e);
        }
        return new DtlsCertificate(certificate.RawData, PrivateKeyFactory.CreateKey(pkcs8));
    }
}
