using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Tests.Security;
using VirtualCluster.ControlPlane.Tls;
using VirtualCluster.Security.Tls;

namespace VirtualCluster.ControlPlane.Tests.Tls;

/// <summary>A machine as an agent is one: its node id, machine token, key and client certificate, and real https clients that present it.</summary>
internal sealed record AgentCertificateClient(string NodeId, string Token, X509Certificate2? Certificate, ECDsa? Key) : IDisposable
{
    /// <summary>Joins <paramref name="host"/> with a certificate request, as an agent of this release does.</summary>
    public static async Task<AgentCertificateClient> JoinAsync(ApiSecurityHost host, string name, string? joinToken = null)
    {
        var (key, csr) = NodeCertificates.CreateRequest(name);
        using var client = Client(host, null, null);
        var join = new JoinRequest(joinToken ?? host.JoinToken, name, "127.0.0.1", new Resources(1000, 1L << 30, 1L << 30), ["process"], new PortRange(22000, 22099), null, csr);
        var response = await client.PostAsJsonAsync("v1/join", join, VirtualClusterJson.Options);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"join {name}: {(int)response.StatusCode} {text}");
        var joined = System.Text.Json.JsonSerializer.Deserialize<JoinResponse>(text, VirtualClusterJson.Options)!;
        Assert.NotNull(joined.ClientCertificate);
        return new AgentCertificateClient(joined.NodeId, joined.Token, NodeCertificates.WithKey(joined.ClientCertificate!, key), key);
    }

    /// <summary>An https client pinned to the host's CA that presents <paramref name="certificate"/> (none when null) and sends <paramref name="token"/>.</summary>
    public static HttpClient Client(ApiSecurityHost host, X509Certificate2? certificate, string? token)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = PinnedCaValidator.ForCertificate(host.Services.GetRequiredService<ClusterTls>().Ca.Certificate).Validate },
        };
        if (certificate is not null) handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate;
        var client = new HttpClient(handler) { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        if (token is not null) client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer " + token);
        return client;
    }

    /// <summary>A heartbeat for <paramref name="nodeId"/> with <paramref name="certificate"/> and <paramref name="token"/>; the answer.</summary>
    public static async Task<HttpResponseMessage> HeartbeatAsync(ApiSecurityHost host, string nodeId, X509Certificate2? certificate, string token,
        string? certificateRequest = null, IEnumerable<(string, string)>? headers = null)
    {
        using var client = Client(host, certificate, token);
        var body = new HeartbeatRequest(new ResourceUsage(100, 1L << 20, 1L << 20), new Resources(1000, 1L << 30, 1L << 30), ["process"], [], null, certificateRequest);
        using var message = new HttpRequestMessage(HttpMethod.Post, $"v1/nodes/{Uri.EscapeDataString(nodeId)}/heartbeat") { Content = JsonContent.Create(body, options: VirtualClusterJson.Options) };
        foreach (var (name, value) in headers ?? []) message.Headers.TryAddWithoutValidation(name, value);
        return await client.SendAsync(message);
    }

    public Task<HttpResponseMessage> HeartbeatAsync(ApiSecurityHost host) => HeartbeatAsync(host, NodeId, Certificate, Token);

    public void Dispose()
    {
        Certificate?.Dispose();
        Key?.Dispose();
    }
}
