using System.Net;
using System.Net.Http.Json;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Tests.Security;
using VirtualCluster.Security.Tls;

namespace VirtualCluster.ControlPlane.Tests.Tls;

/// <summary>
/// When a machine token without a client certificate is accepted (agents that joined before certificates existed:
/// yes, unless RequireClientCertificate), and that removing a node makes its certificate useless.
/// </summary>
public sealed class ClientCertificatePolicyTests
{
    [Fact]
    public async Task By_default_a_token_alone_is_accepted_and_gets_a_certificate_at_its_next_heartbeat()
    {
        await using var host = await ApiSecurityHost.StartAsync(tls: true);
        // host.MachineToken is node-1's, joined without a certificate request (an agent of an earlier release).
        Assert.Equal(HttpStatusCode.OK, (await AgentCertificateClient.HeartbeatAsync(host, host.NodeId, null, host.MachineToken)).StatusCode);

        var (key, csr) = NodeCertificates.CreateRequest("node-1");
        using (key)
        {
            var response = await AgentCertificateClient.HeartbeatAsync(host, host.NodeId, null, host.MachineToken, csr);
            var answer = await response.Content.ReadFromJsonAsync<HeartbeatResponse>(VirtualClusterJson.Options);
            using var certificate = NodeCertificates.WithKey(answer!.ClientCertificate!, key);
            Assert.Equal(HttpStatusCode.OK, (await AgentCertificateClient.HeartbeatAsync(host, host.NodeId, certificate, answer.RenewedToken ?? host.MachineToken)).StatusCode);
        }
    }

    [Fact]
    public async Task With_RequireClientCertificate_a_token_alone_is_refused_and_logged()
    {
        await using var host = await ApiSecurityHost.StartAsync(o => o.RequireClientCertificate = true, tls: true);
        using var agent = await AgentCertificateClient.JoinAsync(host, "node-2");
        var logs = host.Logs.Count;

        var alone = await AgentCertificateClient.HeartbeatAsync(host, agent.NodeId, null, agent.Token);
        // Asking for a certificate with the token alone does not help: that would make the token enough again.
        var (key, csr) = NodeCertificates.CreateRequest("node-2");
        key.Dispose();
        var asking = await AgentCertificateClient.HeartbeatAsync(host, agent.NodeId, null, agent.Token, csr);

        Assert.Equal(HttpStatusCode.Forbidden, alone.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, asking.StatusCode);
        Assert.Contains("requires one", (await alone.Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options))!.Error);
        Assert.Contains(host.Logs.Skip(logs), l => l.Contains("Refused POST", StringComparison.Ordinal) && l.Contains("requires one", StringComparison.Ordinal));
        // The user API is not concerned (people have no certificates); the agent with its certificate is accepted.
        using var admin = host.Client(host.AdminToken);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("v1/nodes")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await agent.HeartbeatAsync(host)).StatusCode);
    }

    [Fact]
    public async Task Removing_a_node_makes_its_certificate_useless_even_after_it_joins_again()
    {
        await using var host = await ApiSecurityHost.StartAsync(tls: true);
        using var agent = await AgentCertificateClient.JoinAsync(host, "node-r");
        Assert.Equal(HttpStatusCode.OK, (await agent.HeartbeatAsync(host)).StatusCode); // positive control
        using var admin = host.Client(host.AdminToken);
        (await admin.DeleteAsync("v1/nodes/node-r")).EnsureSuccessStatusCode();

        var removed = await agent.HeartbeatAsync(host);
        Assert.Equal(HttpStatusCode.Unauthorized, removed.StatusCode);
        Assert.Contains("removed", (await removed.Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options))!.Error);

        // Let back in with a new join token: a new credential generation, so the old certificate (and its key, which
        // whoever took the machine may hold) does not pass with the new token.
        var fresh = await (await admin.PostAsync("v1/join-tokens", ApiSecurityHost.Json("""{"uses":1}"""))).Content.ReadFromJsonAsync<JoinTokenResponse>(VirtualClusterJson.Options);
        using var back = await AgentCertificateClient.JoinAsync(host, "node-r", fresh!.Token);
        Assert.Equal(agent.NodeId, back.NodeId);
        var old = await AgentCertificateClient.HeartbeatAsync(host, back.NodeId, agent.Certificate, back.Token);
        Assert.Equal(HttpStatusCode.Forbidden, old.StatusCode);
        Assert.Contains("earlier join", (await old.Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options))!.Error);
        Assert.Equal(HttpStatusCode.OK, (await back.HeartbeatAsync(host)).StatusCode);
    }

    [Fact]
    public async Task A_join_with_a_garbage_certificate_request_is_refused_without_using_up_the_token()
    {
        await using var host = await ApiSecurityHost.StartAsync(tls: true);
        using var admin = host.Client(host.AdminToken);
        var single = await (await admin.PostAsync("v1/join-tokens", ApiSecurityHost.Json("""{"uses":1}"""))).Content.ReadFromJsonAsync<JoinTokenResponse>(VirtualClusterJson.Options);
        using var client = AgentCertificateClient.Client(host, null, null);
        var join = new JoinRequest(single!.Token, "node-g", "127.0.0.1", new Resources(1000, 1L << 30, 1L << 30), ["process"], new PortRange(22100, 22199), null, "garbage");

        var refused = await client.PostAsJsonAsync("v1/join", join, VirtualClusterJson.Options);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("certificateRequest", await refused.Content.ReadAsStringAsync());
        using var joined = await AgentCertificateClient.JoinAsync(host, "node-g", single.Token); // the one use is still there
    }
}
