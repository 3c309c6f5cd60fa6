using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Tests.Api;

/// <summary>GET /v1/p2p/config on the real control plane: the cluster's STUN/TURN servers for agents and gateways.</summary>
public sealed class P2PConfigApiTests : IAsyncLifetime
{
    private readonly string directory = Directory.CreateTempSubdirectory("vc-peerlink-api-").FullName;
    private WebApplication? app;
    private HttpClient http = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddVirtualClusterControlPlane(o => o.DataDirectory = directory);
        builder.Services.Configure<P2POptions>(o =>
        {
            o.IceServers = ["stun:203.0.113.1:3478", "turn:203.0.113.1:3478?transport=udp"];
            o.TurnUsername = "u";
            o.TurnPassword = "p";
        });
        app = builder.Build();
        app.MapVirtualClusterApi();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        http = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        if (app is not null) await app.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    private string Read(string file) => File.ReadAllText(Path.Combine(directory, file)).Trim();

    private async Task<HttpResponseMessage> GetAsync(string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/p2p/config");
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.SendAsync(request);
    }

    [Fact]
    public async Task Admin_and_machine_tokens_get_the_servers_with_turn_credentials_only_on_turn()
    {
        using var admin = await GetAsync(Read(ClusterCredentials.AdminTokenFile));
        Assert.Equal(HttpStatusCode.OK, admin.StatusCode);
        Assert.Equal("""{"iceServers":[{"urls":"stun:203.0.113.1:3478"},{"urls":"turn:203.0.113.1:3478?transport=udp","username":"u","credential":"p"}]}""",
            await admin.Content.ReadAsStringAsync());

        var join = new JoinRequest(Read(ClusterCredentials.JoinTokenFile), "node-1", "127.0.0.1",
            new Resources(4000, 4L << 30, 10L << 30), ["process"], new PortRange(21000, 21099), null);
        using var joined = await http.PostAsJsonAsync("v1/join", join, VirtualClusterJson.Options);
        var machine = (await joined.Content.ReadFromJsonAsync<JoinResponse>(VirtualClusterJson.Options))!.Token;
        using var agent = await GetAsync(machine);
        var config = await agent.Content.ReadFromJsonAsync<P2PConfig>(VirtualClusterJson.Options);
        Assert.Equal(2, config!.IceServers.Count);

        using var anonymous = await GetAsync(null);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var join2 = await GetAsync(Read(ClusterCredentials.JoinTokenFile));
        Assert.Equal(HttpStatusCode.Forbidden, join2.StatusCode);
    }

    [Theory]
    [InlineData("http://203.0.113.1:3478", null, "is not a URL like stun:")]
    [InlineData("turn:203.0.113.1:3478?transport=tcp", "u", "only UDP TURN is supported")]
    [InlineData("turn:203.0.113.1:3478", null, "give --turn-user and --turn-password")]
    [InlineData("stun:", null, "is not a URL like stun:")]
    public void Validator_names_the_bad_server_and_the_fix(string url, string? user, string message)
    {
        var result = new P2POptionsValidator().Validate(null, new P2POptions { IceServers = [url], TurnUsername = user, TurnPassword = user });
        Assert.True(result.Failed);
        Assert.Contains(message, result.FailureMessage);
    }

    [Fact]
    public void Validator_accepts_no_servers_and_stun_without_credentials() =>
        Assert.True(new P2POptionsValidator().Validate(null, new P2POptions { IceServers = ["stun:stun.example.com"] }).Succeeded);
}
