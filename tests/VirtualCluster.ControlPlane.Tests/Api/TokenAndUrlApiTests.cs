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

/// <summary>The real control plane on Kestrel: service views carry the stable URL, POST /v1/tokens issues service tokens.</summary>
public sealed class TokenAndUrlApiTests : IAsyncLifetime
{
    private const string Spec = """{ "name": "hello", "command": "dotnet", "args": ["x.dll"], "access": "token" }""";
    private readonly string directory = Directory.CreateTempSubdirectory("vc-gwaccess-api-").FullName;
    private WebApplication? app;
    private HttpClient http = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddVirtualClusterControlPlane(o => o.DataDirectory = directory);
        builder.Services.Configure<ServiceUrlOptions>(o => o.GatewayUrl = "http://{service}.localhost:8080/");
        app = builder.Build();
        app.MapVirtualClusterApi();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        http = new HttpClient { BaseAddress = new Uri(address) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Read(ClusterCredentials.AdminTokenFile));
        // One node, so deploys can be placed (it never reports; the service views are what is tested).
        var join = new JoinRequest(Read(ClusterCredentials.JoinTokenFile), "node-1", "127.0.0.1",
            new Resources(4000, 4L << 30, 10L << 30), ["process"], new PortRange(21000, 21099), null);
        (await http.PostAsJsonAsync("v1/join", join, VirtualClusterJson.Options)).EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        if (app is not null) await app.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    private string Read(string file) => File.ReadAllText(Path.Combine(directory, file)).Trim();

    private Task<HttpResponseMessage> Post(string path, string json) =>
        http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    [Fact]
    public async Task Every_service_view_carries_the_stable_url()
    {
        var deployed = await (await Post("v1/services", Spec)).Content.ReadFromJsonAsync<ServiceView>(VirtualClusterJson.Options);
        Assert.Equal("http://hello.localhost:8080/", deployed!.Url);
        Assert.Equal(ServiceAccess.Token, deployed.Spec.Access);

        var list = await http.GetFromJsonAsync<ServiceView[]>("v1/services", VirtualClusterJson.Options);
        Assert.Equal("http://hello.localhost:8080/", Assert.Single(list!).Url);
        var one = await http.GetFromJsonAsync<ServiceView>("v1/services/hello", VirtualClusterJson.Options);
        Assert.Equal("http://hello.localhost:8080/", one!.Url);
        var status = await http.GetFromJsonAsync<ClusterStatus>("v1/status", VirtualClusterJson.Options);
        Assert.Equal("http://hello.localhost:8080/", Assert.Single(status!.Services).Url);
        Assert.Contains("\"url\":\"http://hello.localhost:8080/\"", await http.GetStringAsync("v1/services"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_tokens_issues_a_service_token_for_this_cluster()
    {
        await Post("v1/services", Spec);

        var response = await Post("v1/tokens", """{"service": "hello", "ttl": "01:00:00"}""");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<ServiceTokenResponse>(VirtualClusterJson.Options);
        Assert.Equal("hello", body!.Service);
        Assert.Equal(ServiceAccess.Token, body.Access);
        Assert.Equal("http://hello.localhost:8080/", body.Url);
        Assert.InRange(body.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(58), TimeSpan.FromMinutes(61));
        // The control plane's own validator (its key, its cluster id as audience) accepts it as a token for "hello".
        var tokens = app!.Services.GetRequiredService<TokenService>();
        var principal = (await tokens.ValidateAsync(body.Token)).Principal;
        Assert.Equal("hello", principal?.Service);
        Assert.Equal(app.Services.GetRequiredService<ClusterCredentials>().ClusterId, principal?.Audience);
        Assert.StartsWith("vc-", principal?.Audience);
    }

    [Theory]
    [InlineData("""{"service": "hello", "ttl": "00:00:00"}""", 400, "ttl must be positive")]
    [InlineData("""{"service": "hello", "ttl": "31.00:00:00"}""", 400, "at most 30 days")]
    [InlineData("""{"service": "", "ttl": "01:00:00"}""", 400, "service is required")]
    [InlineData("""{"service": "nope", "ttl": "01:00:00"}""", 404, "no service named \"nope\"")]
    [InlineData("""{"service": "hello", "ttl": "soon"}""", 400, "not a valid ServiceTokenRequest")]
    [InlineData("""[1,2""", 400, "not a valid ServiceTokenRequest")]
    public async Task Post_tokens_rejects_bad_requests_with_a_clear_error(string json, int status, string message)
    {
        await Post("v1/services", Spec);
        var response = await Post("v1/tokens", json);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Contains(message, (await response.Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options))!.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_tokens_needs_an_admin_token()
    {
        await Post("v1/services", Spec);
        using var anonymous = new HttpClient { BaseAddress = http.BaseAddress };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync("v1/tokens", new StringContent("""{"service":"hello","ttl":"01:00:00"}"""))).StatusCode);
        anonymous.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Read(ClusterCredentials.JoinTokenFile));
        var joinAnswer = await anonymous.PostAsync("v1/tokens", new StringContent("""{"service":"hello","ttl":"01:00:00"}"""));
        Assert.True(joinAnswer.StatusCode == HttpStatusCode.Forbidden, await joinAnswer.Content.ReadAsStringAsync());
        // A service token cannot mint more tokens either.
        var issued = await (await Post("v1/tokens", """{"service":"hello","ttl":"01:00:00"}""")).Content.ReadFromJsonAsync<ServiceTokenResponse>(VirtualClusterJson.Options);
        anonymous.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", issued!.Token);
        Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.PostAsync("v1/tokens", new StringContent("""{"service":"hello","ttl":"01:00:00"}"""))).StatusCode);
    }

    [Fact]
    public async Task Introspect_says_whether_a_token_is_valid_and_whose_it_is()
    {
        await Post("v1/services", Spec);
        var issued = await (await Post("v1/tokens", """{"service":"hello","ttl":"01:00:00"}""")).Content.ReadFromJsonAsync<ServiceTokenResponse>(VirtualClusterJson.Options);

        var valid = await (await Post("v1/tokens/introspect", $$"""{"token":"{{issued!.Token}}"}""")).Content.ReadFromJsonAsync<TokenIntrospection>(VirtualClusterJson.Options);
        Assert.True(valid!.Active);
        Assert.Equal(TokenRoles.Service, valid.Role);
        Assert.Equal(TokenService.ServiceScope("hello"), valid.Subject);
        Assert.Equal(app!.Services.GetRequiredService<ClusterCredentials>().ClusterId, valid.Audience);

        var tampered = issued.Token[..^4] + (issued.Token[^4..] == "AAAA" ? "BBBB" : "AAAA");
        var refused = await (await Post("v1/tokens/introspect", $$"""{"token":"{{tampered}}"}""")).Content.ReadFromJsonAsync<TokenIntrospection>(VirtualClusterJson.Options);
        Assert.False(refused!.Active);
        Assert.False(string.IsNullOrEmpty(refused.Error));
        Assert.Null(refused.Subject);
    }

    [Theory]
    [InlineData("""{"token":""}""", "token is required")]
    [InlineData("""{}""", "token is required")]
    [InlineData("""[1,""", "not a valid TokenIntrospectionRequest")]
    public async Task Introspect_rejects_bad_requests_with_a_clear_error(string json, string message)
    {
        var response = await Post("v1/tokens/introspect", json);
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains(message, (await response.Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options))!.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Introspect_needs_an_admin_token()
    {
        using var other = new HttpClient { BaseAddress = http.BaseAddress };
        var body = new StringContent("""{"token":"x"}""", Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.Unauthorized, (await other.PostAsync("v1/tokens/introspect", body)).StatusCode);
        other.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Read(ClusterCredentials.JoinTokenFile));
        Assert.Equal(HttpStatusCode.Forbidden, (await other.PostAsync("v1/tokens/introspect", body)).StatusCode);
        // Positive control: the admin token gets an answer.
        Assert.Equal(HttpStatusCode.OK, (await Post("v1/tokens/introspect", """{"token":"x"}""")).StatusCode);
    }
}
