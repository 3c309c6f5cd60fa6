using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Tests.Security;
using VirtualCluster.Security.Tls;

namespace VirtualCluster.ControlPlane.Tests.Tls;

/// <summary>POST /v1/tls/gateway-certificate: the cluster CA signs a gateway's key for its agent-facing TLS, for admins only.</summary>
public sealed class GatewayCertificateTests
{
    [Fact]
    public async Task An_admin_gets_a_server_certificate_of_the_cluster_CA_for_the_gateways_own_key()
    {
        await using var host = await ApiSecurityHost.StartAsync(tls: true);
        var (key, csr) = NodeCertificates.CreateRequest("gateway-edge-1");
        using (key)
        {
            using var admin = host.Client(host.AdminToken);
            var response = await admin.PostAsJsonAsync("v1/tls/gateway-certificate", new GatewayCertificateRequest("edge-1", csr), VirtualClusterJson.Options);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var answer = (await response.Content.ReadFromJsonAsync<GatewayCertificateResponse>(VirtualClusterJson.Options))!;
            using var certificate = NodeCertificates.WithKey(answer.Certificate, key); // the gateway's key, not one of the CA's making
            using var ca = X509Certificate2.CreateFromPem(answer.Ca);
            Assert.Equal(TlsFingerprint.Of(ca), File.ReadAllText(Path.Combine(host.DataDirectory, "ca.fingerprint")).Trim());
            // What agents check: chains to the pinned CA with serverAuth.
            Assert.True(PinnedCaValidator.ForCertificate(ca).Validate(null, certificate, null, System.Net.Security.SslPolicyErrors.None));
            var names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
            // The URI SAN (an IA5String inside the extension) names the gateway.
            Assert.Contains(ClusterCa.GatewayUri("edge-1").ToString(), System.Text.Encoding.ASCII.GetString(names.RawData));
            var usage = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single();
            Assert.Equal([TlsFingerprint.ServerAuthOid], usage.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value));
        }
    }

    [Fact]
    public async Task Others_are_refused_and_bad_requests_name_the_field()
    {
        await using var host = await ApiSecurityHost.StartAsync(tls: true);
        var (key, csr) = NodeCertificates.CreateRequest("gateway");
        key.Dispose();
        var body = new GatewayCertificateRequest("gateway", csr);
        using var anonymous = host.Client(null);
        using var machine = host.Client(host.MachineToken);
        using var operatorClient = host.Client(await host.AddUserWithTokenAsync("olga", "operator"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("v1/tls/gateway-certificate", body, VirtualClusterJson.Options)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await machine.PostAsJsonAsync("v1/tls/gateway-certificate", body, VirtualClusterJson.Options)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await operatorClient.PostAsJsonAsync("v1/tls/gateway-certificate", body, VirtualClusterJson.Options)).StatusCode);

        using var admin = host.Client(host.AdminToken);
        var bad = await admin.PostAsJsonAsync("v1/tls/gateway-certificate", new GatewayCertificateRequest("bad name!", "not a csr"), VirtualClusterJson.Options);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var error = (await bad.Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options))!;
        Assert.Equal(["name", "certificateRequest"], error.Errors!.Select(e => e.Field));
        // Positive control: the same admin with a good body.
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync("v1/tls/gateway-certificate", body, VirtualClusterJson.Options)).StatusCode);
    }
}
