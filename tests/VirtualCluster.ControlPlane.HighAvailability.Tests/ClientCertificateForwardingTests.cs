using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Tls;
using VirtualCluster.IntegrationTests.Infrastructure;
using VirtualCluster.Membership;
using VirtualCluster.Membership.Election;
using VirtualCluster.Membership.Embedded;
using VirtualCluster.Membership.Members;
using VirtualCluster.Security.Tls;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.HighAvailability.Tests;

/// <summary>
/// Two control planes on https sharing one store, both requiring agents' client certificates: an agent talking to the
/// follower is accepted with its certificate (the follower forwards it, presenting its own control-plane certificate),
/// refused without, and a client that sets the forwarding header itself gains nothing by it.
/// </summary>
public sealed class ClientCertificateForwardingTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vc-ha-mtls-").FullName;
    private SqliteKeyValueStore _store = null!;
    private readonly List<WebApplication> _apps = [];

    public Task InitializeAsync()
    {
        _store = new SqliteKeyValueStore(new EmbeddedMembershipOptions { Path = Path.Combine(_directory, "kv.db") });
        return Task.CompletedTask;
    }

    [Fact]
    public async Task An_agent_with_its_certificate_is_served_through_the_follower_and_refused_without()
    {
        var (leaderApp, leaderUrl) = await StartAsync("cp-a");
        await Wait.UntilAsync(async () => (await LeaderAsync(leaderApp, leaderUrl))?.IsLeader == true, TimeSpan.FromSeconds(30), "cp-a to lead");
        var (followerApp, followerUrl) = await StartAsync("cp-b");
        await Wait.UntilAsync(async () => (await LeaderAsync(followerApp, followerUrl))?.Leader == leaderUrl, TimeSpan.FromSeconds(30), "the follower to see the leader");
        var joinToken = (await File.ReadAllTextAsync(Path.Combine(_directory, "cp-b", "join.token"))).Trim();

        // Join through the follower, with a certificate request.
        var (key, csr) = NodeCertificates.CreateRequest("node-ha");
        using var _ = key;
        using var anonymous = Client(followerApp, followerUrl, null, null);
        var join = new JoinRequest(joinToken, "node-ha", "127.0.0.1", new Resources(1000, 1L << 30, 1L << 30), ["process"], new PortRange(23000, 23099), null, csr);
        var joinedResponse = await anonymous.PostAsJsonAsync("v1/join", join, VirtualClusterJson.Options);
        Assert.True(joinedResponse.IsSuccessStatusCode, await joinedResponse.Content.ReadAsStringAsync());
        var joined = (await joinedResponse.Content.ReadFromJsonAsync<JoinResponse>(VirtualClusterJson.Options))!;
        using var certificate = NodeCertificates.WithKey(joined.ClientCertificate!, key);

        var withCertificate = await HeartbeatAsync(followerApp, followerUrl, joined, certificate);
        var without = await HeartbeatAsync(followerApp, followerUrl, joined, null);
        // Straight to the leader, claiming a forwarded certificate from a connection that is no control plane's.
        var forged = await HeartbeatAsync(leaderApp, leaderUrl, joined, null, Convert.ToBase64String(certificate.RawData));

        Assert.Equal(HttpStatusCode.OK, withCertificate.StatusCode);
        Assert.Equal(leaderUrl, withCertificate.Headers.GetValues(LeaderForwarding.ServedByHeader).Single());
        Assert.Equal(HttpStatusCode.Forbidden, without.StatusCode);
        Assert.Contains("requires one", (await without.Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options))!.Error);
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        // Positive control for the last row: the leader itself takes the agent with its certificate.
        Assert.Equal(HttpStatusCode.OK, (await HeartbeatAsync(leaderApp, leaderUrl, joined, certificate)).StatusCode);
    }

    private async Task<(WebApplication App, string Url)> StartAsync(string name)
    {
        var url = $"https://127.0.0.1:{Wait.FreePort()}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k => k.ListenControlPlane(new Uri(url)));
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IKeyValueStore>(_store);
        builder.Services.AddSingleton<ILeaderElection>(new KvLeaderElection(_store));
        builder.Services.AddSingleton<IMembership>(new KvMembership(_store));
        builder.Services.AddVirtualClusterControlPlane(o =>
        {
            o.DataDirectory = Path.Combine(_directory, name);
            o.RequireClientCertificate = true;
        });
        builder.Services.AddControlPlaneHighAvailability(o =>
        {
            o.AdvertiseUrl = url;
            o.LeaseTtl = TimeSpan.FromSeconds(2);
        });
        var app = builder.Build();
        app.MapVirtualClusterApi();
        await app.StartAsync();
        _apps.Add(app);
        return (app, url);
    }

    private static HttpClient Client(WebApplication app, string url, X509Certificate2? certificate, string? token)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = PinnedCaValidator.ForCertificate(app.Services.GetRequiredService<ClusterTls>().Ca.Certificate).Validate },
        };
        if (certificate is not null) handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate;
        var client = new HttpClient(handler) { BaseAddress = new Uri(url + "/"), Timeout = TimeSpan.FromSeconds(10) };
        if (token is not null) client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer " + token);
        return client;
    }

    private static async Task<LeaderView?> LeaderAsync(WebApplication app, string url)
    {
        using var client = Client(app, url, null, null);
        try
        {
            return await client.GetFromJsonAsync<LeaderView>("v1/leader", VirtualClusterJson.Options);
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private static async Task<HttpResponseMessage> HeartbeatAsync(WebApplication app, string url, JoinResponse node, X509Certificate2? certificate, string? forwardedHeader = null)
    {
        using var client = Client(app, url, certificate, node.Token);
        var body = new HeartbeatRequest(new ResourceUsage(100, 1L << 20, 1L << 20), new Resources(1000, 1L << 30, 1L << 30), ["process"], []);
        using var message = new HttpRequestMessage(HttpMethod.Post, $"v1/nodes/{Uri.EscapeDataString(node.NodeId)}/heartbeat") { Content = JsonContent.Create(body, options: VirtualClusterJson.Options) };
        if (forwardedHeader is not null) message.Headers.TryAddWithoutValidation(AgentCertificates.ForwardedCertificateHeader, forwardedHeader);
        return await client.SendAsync(message);
    }

    public async Task DisposeAsync()
    {
        foreach (var app in _apps)
        {
            try { await app.StopAsync(); } catch (ObjectDisposedException) { }
            await app.DisposeAsync();
        }
        await _store.DisposeAsync();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
