using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VirtualCluster.Api;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Tests.Api;

/// <summary>POST /v1/rebalance with "consolidate" on the real control plane over Kestrel: the field, its defaults and its errors.</summary>
public sealed class RebalanceApiTests : IAsyncLifetime
{
    private readonly string directory = Directory.CreateTempSubdirectory("vc-sched2-rebalance-api-").FullName;
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
        var admin = File.ReadAllText(Path.Combine(directory, ClusterCredentials.AdminTokenFile)).Trim();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", admin);
        var join = new JoinRequest(File.ReadAllText(Path.Combine(directory, ClusterCredentials.JoinTokenFile)).Trim(), "node-1", "127.0.0.1",
            new Resources(4000, 4L << 30, 10L << 30), ["process"], new PortRange(21000, 21099), null);
        (await http.PostAsJsonAsync("v1/join", join, VirtualClusterJson.Options)).EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        if (app is not null) await app.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    private Task<HttpResponseMessage> Post(string json) =>
        http.PostAsync("v1/rebalance", new StringContent(json, Encoding.UTF8, "application/json"));

    [Fact]
    public async Task Consolidate_is_a_dry_run_unless_asked_and_answers_with_the_freed_nodes()
    {
        var response = await Post("""{"consolidate": true}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<RebalanceResponse>(VirtualClusterJson.Options))!;
        Assert.False(body.Applied);
        Assert.Empty(body.Plan.Moves);
        Assert.NotNull(body.Plan.FreedNodes);
        Assert.Contains("nothing to free", body.Plan.Summary);
        Assert.Contains("\"freedNodes\":[]", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"consolidate": true, "maxMoves": 500}""", "maxMoves must be from 0 to 100")]
    [InlineData("""{"consolidate": true, "maxMoves": -3}""", "maxMoves must be from 0 to 100")]
    [InlineData("""{"consolidate": "yes"}""", "$.consolidate")]
    public async Task Hostile_bodies_get_a_400_naming_the_field(string json, string error)
    {
        var response = await Post(json);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(error, (await response.Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options))!.Error);
    }
}
