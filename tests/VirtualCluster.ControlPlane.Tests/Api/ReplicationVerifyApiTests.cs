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

namespace VirtualCluster.ControlPlane.Tests.Api;

/// <summary>POST /v1/replication/verify on the real control plane: holders check a peer's token; hostile bodies are refused.</summary>
public sealed class ReplicationVerifyApiTests : IAsyncLifetime
{
    private readonly string directory = Directory.CreateTempSubdirectory("vc-repl-verify-").FullName;
    private WebApplication? app;
    private HttpClient http = null!;
    private JoinResponse node = null!;

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
        var join = new JoinRequest(Read(ClusterCredentials.JoinTokenFile), "node-1", "127.0.0.1",
            new Resources(4000, 4L << 30, 10L << 30), ["process"], new PortRange(21000, 21099), null, ReplicaPort: 7100);
        var joined = await http.PostAsJsonAsync("v1/join", join, VirtualClusterJson.Options);
        joined.EnsureSuccessStatusCode();
        node = (await joined.Content.ReadFromJsonAsync<JoinResponse>(VirtualClusterJson.Options))!;
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        if (app is not null) await app.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    private string Read(string file) => File.ReadAllText(Path.Combine(directory, file)).Trim();

    private Task<HttpResponseMessage> VerifyAsync(string caller, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "v1/replication/verify") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", caller);
        return http.SendAsync(request);
    }

    private async Task<ReplicaTokenAnswer> AnswerAsync(string token)
    {
        var response = await VerifyAsync(node.Token, $$"""{"token": "{{token}}"}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<ReplicaTokenAnswer>(VirtualClusterJson.Options))!;
    }

    [Fact]
    public async Task A_machine_token_of_this_cluster_is_confirmed_with_its_node()
    {
        var answer = await AnswerAsync(node.Token);
        Assert.True(answer.Valid);
        Assert.Equal(node.NodeId, answer.NodeId);
    }

    [Fact]
    public async Task Other_tokens_are_refused_without_saying_more()
    {
        foreach (var token in new[] { Read(ClusterCredentials.AdminTokenFile), Read(ClusterCredentials.JoinTokenFile), "garbage", "a.b.c", node.Token + "x" })
        {
            var answer = await AnswerAsync(token);
            Assert.False(answer.Valid, token);
            Assert.Null(answer.NodeId);
            Assert.NotNull(answer.Error);
        }
    }

    [Fact]
    public async Task Only_machines_may_ask()
    {
        Assert.Equal(HttpStatusCode.Forbidden, (await VerifyAsync(Read(ClusterCredentials.AdminTokenFile), $$"""{"token": "{{node.Token}}"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await VerifyAsync("nope", $$"""{"token": "{{node.Token}}"}""")).StatusCode);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"token": ""}""")]
    [InlineData("""{"token": 5}""")]
    [InlineData("not json")]
    [InlineData("[]")]
    public async Task Hostile_bodies_get_a_400(string body)
    {
        var response = await VerifyAsync(node.Token, body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task A_huge_token_gets_a_400_naming_the_field()
    {
        var response = await VerifyAsync(node.Token, $$"""{"token": "{{new string('a', 20_000)}}"}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("token", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_node_advertises_its_replica_port()
    {
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Read(ClusterCredentials.AdminTokenFile));
        var nodes = await http.GetFromJsonAsync<NodeView[]>("v1/nodes", VirtualClusterJson.Options);
        Assert.Equal(7100, Assert.Single(nodes!).Node.ReplicaPort);
    }
}
