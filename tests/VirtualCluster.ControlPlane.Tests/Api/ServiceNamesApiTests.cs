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

/// <summary>GET /v1/service-names on the real control plane: what an agent reads to give its instances VC_SERVICE_&lt;NAME&gt;_URL.</summary>
public sealed class ServiceNamesApiTests : IAsyncLifetime
{
    private readonly string directory = Directory.CreateTempSubdirectory("vc-service-names-").FullName;
    private WebApplication? app;
    private HttpClient http = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddVirtualClusterControlPlane(o => o.DataDirectory = directory);
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

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.SendAsync(request);
    }

    [Fact]
    public async Task A_machine_token_reads_the_deployed_service_names_and_others_are_refused()
    {
        var join = new JoinRequest(Read(ClusterCredentials.JoinTokenFile), "node-1", "127.0.0.1",
            new Resources(4000, 4L << 30, 10L << 30), ["process"], new PortRange(21000, 21099), null);
        using var joined = await http.PostAsJsonAsync("v1/join", join, VirtualClusterJson.Options);
        var machine = (await joined.Content.ReadFromJsonAsync<JoinResponse>(VirtualClusterJson.Options))!.Token;
        using (var empty = await SendAsync(HttpMethod.Get, "v1/service-names", machine))
            Assert.Equal("[]", await empty.Content.ReadAsStringAsync());

        foreach (var name in new[] { "web", "user-db" })
        {
            using var deployed = await SendAsync(HttpMethod.Post, "v1/services", Read(ClusterCredentials.AdminTokenFile), new StringContent(
                $$"""{ "name": "{{name}}", "command": "sleep", "args": ["100"], "resources": { "cpu": "100m", "memory": "64Mi" } }""",
                System.Text.Encoding.UTF8, "application/json"));
            Assert.True(deployed.IsSuccessStatusCode, await deployed.Content.ReadAsStringAsync());
        }
        using var names = await SendAsync(HttpMethod.Get, "v1/service-names", machine);
        Assert.Equal(HttpStatusCode.OK, names.StatusCode);
        Assert.Equal("""["user-db","web"]""", await names.Content.ReadAsStringAsync());

        using var anonymous = await SendAsync(HttpMethod.Get, "v1/service-names", null);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var joinToken = await SendAsync(HttpMethod.Get, "v1/service-names", Read(ClusterCredentials.JoinTokenFile));
        Assert.Equal(HttpStatusCode.Forbidden, joinToken.StatusCode);
    }
}
