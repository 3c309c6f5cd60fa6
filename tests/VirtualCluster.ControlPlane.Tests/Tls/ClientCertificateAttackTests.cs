using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Tests.Security;
using VirtualCluster.ControlPlane.Tls;
using VirtualCluster.Security.Tls;

namespace VirtualCluster.ControlPlane.Tests.Tls;

/// <summary>
/// The attack table's client-certificate rows, against a real control plane on Kestrel with real https clients that
/// present certificates: another CA's certificate, node A's certificate with node B's token, an expired certificate,
/// a certificate without clientAuth, a forged forwarding header. Each is refused (403 naming the problem), logged, and
/// changes nothing (the node's last heartbeat stays); each has its positive control.
/// </summary>
public sealed class ClientCertificateAttackTests : IAsyncLifetime
{
    private ApiSecurityHost host = null!;
    private AgentCertificateClient a = null!;
    private AgentCertificateClient b = null!;

    public async Task InitializeAsync()
    {
        host = await ApiSecurityHost.StartAsync(tls: true);
        a = await AgentCertificateClient.JoinAsync(host, "node-a");
        b = await AgentCertificateClient.JoinAsync(host, "node-b");
    }

    public async Task DisposeAsync()
    {
        a.Dispose();
        b.Dispose();
        await host.DisposeAsync();
    }

    private ClusterTls Tls => host.Services.GetRequiredService<ClusterTls>();

    [Fact]
    public async Task The_joined_nodes_certificate_names_it_and_its_heartbeat_is_accepted()
    {
        var check = ClientCertificateValidator.Check(a.Certificate!, Tls.Ca.Certificate, DateTimeOffset.UtcNow);
        Assert.Equal(a.NodeId, check.Identity?.NodeId);
        Assert.Contains(NodeCertificates.ClientAuthOid, a.Certificate!.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value));
        Assert.InRange(a.Certificate.NotAfter.ToUniversalTime() - DateTime.UtcNow, TimeSpan.FromDays(6.9), TimeSpan.FromDays(7));
        var before = await LastHeartbeatAsync(a.NodeId);

        var response = await a.HeartbeatAsync(host);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEqual(before, await LastHeartbeatAsync(a.NodeId));
    }

    [Fact]
    public async Task A_certificate_from_another_CA_is_refused()
    {
        // Another cluster's CA issues a certificate naming node A at its generation: right names, wrong signer.
        using var other = ClusterCa.Create("other", TimeProvider.System);
        using var forged = Forge(other, a, TimeProvider.System);

        await RefusedAsync(a.NodeId, forged, a.Token, "does not come from the cluster's CA");
    }

    [Fact]
    public async Task Node_As_certificate_with_node_Bs_token_is_refused()
    {
        await RefusedAsync(b.NodeId, a.Certificate, b.Token, $"the client certificate is node {a.NodeId}'s but the machine token is node {b.NodeId}'s");
        // Positive control: B with its own certificate.
        Assert.Equal(HttpStatusCode.OK, (await b.HeartbeatAsync(host)).StatusCode);
    }

    [Fact]
    public async Task An_expired_certificate_of_the_cluster_CA_is_refused()
    {
        // Issued by the cluster's own CA for node A, but two days ago and for one day.
        using var expired = Forge(Tls.Ca, a, new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(-2)));

        await RefusedAsync(a.NodeId, expired, a.Token, "expired at");
    }

    [Fact]
    public async Task A_certificate_without_clientAuth_is_refused()
    {
        // A server certificate of the cluster CA (what a control plane serves): real key, right CA, wrong purpose.
        using var server = Tls.Ca.IssueServerCertificate(["localhost"], [IPAddress.Loopback], TimeSpan.FromDays(1), TimeProvider.System);

        await RefusedAsync(a.NodeId, server, a.Token, "lacks clientAuth");
    }

    [Fact]
    public async Task A_forwarding_header_from_a_client_that_is_not_a_control_plane_is_ignored()
    {
        // B's connection, with A's certificate in the header a follower would set: B's own certificate counts.
        var header = (AgentCertificates.ForwardedCertificateHeader, Convert.ToBase64String(a.Certificate!.RawData));
        var before = await LastHeartbeatAsync(b.NodeId);
        Assert.Equal(HttpStatusCode.OK, (await AgentCertificateClient.HeartbeatAsync(host, b.NodeId, b.Certificate, b.Token, headers: [header])).StatusCode);
        await RefusedAsync(a.NodeId, b.Certificate, a.Token, "is node " + b.NodeId + "'s", [header]);

        // Positive control: a control plane's own certificate makes the header count (what a follower does).
        var forwarded = await AgentCertificateClient.HeartbeatAsync(host, a.NodeId, Tls.ControlPlaneClientCertificate(), a.Token, headers: [header]);
        Assert.Equal(HttpStatusCode.OK, forwarded.StatusCode);
        // ... and with it a follower's "none" is a missing certificate, never the control plane's own.
        await using var strict = await ApiSecurityHost.StartAsync(o => o.RequireClientCertificate = true, tls: true);
        using var c = await AgentCertificateClient.JoinAsync(strict, "node-c");
        var none = await AgentCertificateClient.HeartbeatAsync(strict, c.NodeId, strict.Services.GetRequiredService<ClusterTls>().ControlPlaneClientCertificate(), c.Token,
            headers: [(AgentCertificates.ForwardedCertificateHeader, "none")]);
        Assert.Equal(HttpStatusCode.Forbidden, none.StatusCode);
        Assert.NotEqual(before, await LastHeartbeatAsync(b.NodeId));
    }

    [Fact]
    public async Task A_heartbeat_with_a_certificate_request_renews_the_certificate_on_a_new_key()
    {
        var (key, csr) = NodeCertificates.CreateRequest("node-a");
        using (key)
        {
            var response = await AgentCertificateClient.HeartbeatAsync(host, a.NodeId, a.Certificate, a.Token, csr);
            var answer = await response.Content.ReadFromJsonAsync<HeartbeatResponse>(VirtualClusterJson.Options);

            using var renewed = NodeCertificates.WithKey(answer!.ClientCertificate!, key);
            Assert.NotEqual(a.Certificate!.SerialNumber, renewed.SerialNumber);
            Assert.Equal(HttpStatusCode.OK, (await AgentCertificateClient.HeartbeatAsync(host, a.NodeId, renewed, a.Token)).StatusCode);
            // A garbage request is a 400 naming the field, not a crash.
            var garbage = await AgentCertificateClient.HeartbeatAsync(host, a.NodeId, renewed, a.Token, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----");
            Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
            Assert.Contains("certificateRequest", await garbage.Content.ReadAsStringAsync());
        }
    }

    private async Task RefusedAsync(string nodeId, X509Certificate2? certificate, string token, string reason, IEnumerable<(string, string)>? headers = null)
    {
        var before = await LastHeartbeatAsync(nodeId);
        var logs = host.Logs.Count;

        var response = await AgentCertificateClient.HeartbeatAsync(host, nodeId, certificate, token, headers: headers);

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{(int)response.StatusCode}: {body}");
        Assert.Contains(reason, System.Text.Json.JsonSerializer.Deserialize<ApiError>(body, VirtualClusterJson.Options)!.Error);
        Assert.Equal(before, await LastHeartbeatAsync(nodeId));
        Assert.Contains(host.Logs.Skip(logs), l => l.Contains("Refused POST /v1/nodes/", StringComparison.Ordinal) && l.Contains(reason, StringComparison.Ordinal));
    }

    private async Task<DateTimeOffset?> LastHeartbeatAsync(string nodeId)
    {
        using var admin = host.Client(host.AdminToken);
        var nodes = await admin.GetFromJsonAsync<NodeView[]>("v1/nodes", VirtualClusterJson.Options);
        return nodes!.Single(n => n.Node.Id == nodeId).Node.LastHeartbeat;
    }

    // A certificate naming node A at its generation, signed by ca at the given time, for a day, with a fresh key.
    private static X509Certificate2 Forge(ClusterCa ca, AgentCertificateClient node, TimeProvider time)
    {
        var identity = NodeCertificates.ReadIdentity(node.Certificate!)!;
        var (key, csr) = NodeCertificates.CreateRequest("forged");
        using (key)
        {
            Assert.True(NodeCertificates.TryReadRequest(csr, out var publicKey, out _));
            using var issued = ca.IssueClientCertificate(publicKey, identity, TimeSpan.FromDays(1), time);
            return NodeCertificates.WithKey(issued.ExportCertificatePem(), key);
        }
    }
}
