using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace VirtualCluster.P2P.Dtls;

/// <summary>What WebRTC asks of both DTLS roles (RFC 8827 §6.5, RFC 8261): DTLS 1.2 only, ECDHE-ECDSA with AES-GCM,
/// extended master secret required, corrupt records ignored (a forged datagram must not end the session), and the
/// peer's certificate checked against the signaled fingerprint.</summary>
internal static class WebRtcDtls
{
    public static readonly int[] CipherSuites =
    [
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ];

    public static TlsCredentialedSigner Signer(TlsContext context, BcTlsCrypto crypto, DtlsCertificate certificate)
    {
        var chain = new Certificate([crypto.CreateCertificate(certificate.Der)]);
        return new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(context), crypto, certificate.PrivateKey, chain,
            new SignatureAndHashAlgorithm(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa));
    }

    /// <summary>Checks the peer's end-entity certificate against the fingerprint; records it for the transport.</summary>
    public static void Verify(Certificate? presented, DtlsFingerprint expected, Action<byte[]> accepted)
    {
        if (presented is null || presented.IsEmpty) throw new TlsFatalAlert(AlertDescription.handshake_failure); // mutual auth required
        var der = presented.GetCertificateAt(0).GetEncoded();
        if (!expected.Matches(der)) throw new TlsFatalAlert(AlertDescription.bad_certificate);
        accepted(der);
    }
}

internal sealed class WebRtcDtlsClient(BcTlsCrypto crypto, DtlsCertificate certificate, DtlsFingerprint remote, int handshakeTimeoutMs, Action<byte[]> accepted)
    : DefaultTlsClient(crypto)
{
    private readonly DtlsCertificate _certificate = certificate;
    private readonly DtlsFingerprint _remote = remote;
    private readonly Action<byte[]> _accepted = accepted;

    public override bool IgnoreCorruptDtlsRecords => true;

    public override bool RequiresExtendedMasterSecret() => true;

    public override int GetHandshakeTimeoutMillis() => handshakeTimeoutMs;

    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

    protected override int[] GetSupportedCipherSuites() => WebRtcDtls.CipherSuites;

    public override TlsAuthentication GetAuthentication() => new Authentication(this);

    private sealed class Authentication(WebRtcDtlsClient owner) : TlsAuthentication
    {
        public void NotifyServerCertificate(TlsServerCertificate serverCertificate) =>
            WebRtcDtls.Verify(serverCertificate.Certificate, owner._remote, owner._accepted);

        public TlsCredentials GetClientCredentials(CertificateRequest certificateRequest) =>
            WebRtcDtls.Signer(owner.m_context, (BcTlsCrypto)owner.Crypto, owner._certificate);
    }
}

internal sealed class WebRtcDtlsServer(BcTlsCrypto crypto, DtlsCertificate certificate, DtlsFingerprint remote, int handshakeTimeoutMs, Action<byte[]> accepted)
    : DefaultTlsServer(crypto)
{
    public override bool IgnoreCorruptDtlsRecords => true;

    public override bool RequiresExtendedMasterSecret() => true;

    public override int GetHandshakeTimeoutMillis() => handshakeTimeoutMs;

    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

    protected override int[] GetSupportedCipherSuites() => WebRtcDtls.CipherSuites;

    protected override TlsCredentialedSigner GetECDsaSignerCredentials() => WebRtcDtls.Signer(m_context, (BcTlsCrypto)Crypto, certificate);

    public override CertificateRequest GetCertificateRequest() =>
        new([ClientCertificateType.ecdsa_sign], [new SignatureAndHashAlgorithm(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa),
            new SignatureAndHashAlgorithm(HashAlgorithm.sha384, SignatureAlgorithm.ecdsa)], null);

    public override void NotifyClientCertificate(Certificate clientCertificate) =>
        WebRtcDtls.Verify(clientCertificate, remote, accepted);
}

