using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Security.Tls;

namespace VirtualCluster.Security.Tests;

public sealed class ClientCertificateTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2031-01-01T10:00:00Z");

    [Fact]
    public void A_node_certificate_binds_the_node_and_generation_and_passes_the_check()
    {
        var time = new FakeTimeProvider(Start);
        using var ca = ClusterCa.Create("c1", time);
        var (key, csr) = NodeCertificates.CreateRequest("node-1");
        using (key)
        {
            Assert.True(NodeCertificates.TryReadRequest(csr, out var publicKey, out var problem), problem);
            using var certificate = ca.IssueClientCertificate(publicKey, new ClientIdentity("n/1 x", "ab12"), TimeSpan.FromDays(7), time);

            var check = ClientCertificateValidator.Check(certificate, ca.Certificate, time.GetUtcNow());

            Assert.True(check.Valid, check.Problem);
            Assert.Equal(new ClientIdentity("n/1 x", "ab12"), check.Identity);
            Assert.Equal(Start.AddDays(7), certificate.NotAfter.ToUniversalTime());
            using var certificateKey = certificate.GetECDsaPublicKey()!;
            Assert.Equal(key.ExportSubjectPublicKeyInfo(), certificateKey.ExportSubjectPublicKeyInfo());
        }
    }

    [Fact]
    public void A_certificate_of_another_CA_is_refused()
    {
        var time = new FakeTimeProvider(Start);
        using var ca = ClusterCa.Create("c1", time);
        using var other = ClusterCa.Create("c1", time);
        using var certificate = Issue(other, time, TimeSpan.FromDays(7));
        Assert.True(ClientCertificateValidator.Check(certificate, other.Certificate, time.GetUtcNow()).Valid); // positive control

        var check = ClientCertificateValidator.Check(certificate, ca.Certificate, time.GetUtcNow());

        Assert.False(check.Valid);
        Assert.Contains("does not come from the cluster's CA", check.Problem);
    }

    [Fact]
    public void A_certificate_is_refused_once_expired_by_the_callers_clock()
    {
        var time = new FakeTimeProvider(Start);
        using var ca = ClusterCa.Create("c1", time);
        using var certificate = Issue(ca, time, TimeSpan.FromMinutes(10));
        time.Advance(TimeSpan.FromMinutes(9));
        Assert.True(ClientCertificateValidator.Check(certificate, ca.Certificate, time.GetUtcNow()).Valid);

        time.Advance(TimeSpan.FromMinutes(2));
        var check = ClientCertificateValidator.Check(certificate, ca.Certificate, time.GetUtcNow());

        Assert.False(check.Valid);
        Assert.Contains("expired", check.Problem);
    }

    [Fact]
    public void A_server_certificate_of_the_same_CA_is_not_a_client_certificate()
    {
        var time = new FakeTimeProvider(Start);
        using var ca = ClusterCa.Create("c1", time);
        using var server = ca.IssueServerCertificate(["localhost"], [IPAddress.Loopback], TimeSpan.FromDays(1), time);

        var check = ClientCertificateValidator.Check(server, ca.Certificate, time.GetUtcNow());

        Assert.False(check.Valid);
        Assert.Contains("lacks clientAuth", check.Problem);
    }

    [Fact]
    public void A_control_plane_certificate_names_the_control_plane_and_carries_its_key()
    {
        var time = new FakeTimeProvider(Start);
        using var ca = ClusterCa.Create("c1", time);
        using var certificate = ca.IssueControlPlaneClientCertificate(TimeSpan.FromDays(1), time);
        var check = ClientCertificateValidator.Check(certificate, ca.Certificate, time.GetUtcNow());
        Assert.True(check.Identity!.IsControlPlane);
        Assert.True(certificate.HasPrivateKey);
    }

    [Fact]
    public void A_request_whose_signature_does_not_match_its_key_is_refused()
    {
        var (key, csr) = NodeCertificates.CreateRequest("node-1");
        key.Dispose();
        var der = Convert.FromBase64String(string.Concat(csr.Split('\n').Where(l => !l.StartsWith("-----", StringComparison.Ordinal))));
        der[^5] ^= 0x55; // inside the signature
        var tampered = PemEncoding.WriteString("CERTIFICATE REQUEST", der);

        Assert.False(NodeCertificates.TryReadRequest(tampered, out _, out var problem));
        Assert.Contains("not a valid signed", problem);
        Assert.True(NodeCertificates.TryReadRequest(csr, out _, out _)); // positive control
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a request")]
    [InlineData("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----")]
    public void Garbage_requests_are_refused_with_a_reason(string pem)
    {
        Assert.False(NodeCertificates.TryReadRequest(pem, out _, out var problem));
        Assert.Contains("certificateRequest", problem);
    }

    [Fact]
    public void An_RSA_request_is_refused()
    {
        using var rsa = RSA.Create(2048);
        var csr = new CertificateRequest("CN=x", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequestPem();
        Assert.False(NodeCertificates.TryReadRequest(csr, out _, out var problem));
        Assert.Contains("ECDSA", problem);
    }

    private static X509Certificate2 Issue(ClusterCa ca, TimeProvider time, TimeSpan lifetime)
    {
        var (key, csr) = NodeCertificates.CreateRequest("node-1");
        key.Dispose();
        Assert.True(NodeCertificates.TryReadRequest(csr, out var publicKey, out _));
        return ca.IssueClientCertificate(publicKey, new ClientIdentity("n1", "g1"), lifetime, time);
    }
}
