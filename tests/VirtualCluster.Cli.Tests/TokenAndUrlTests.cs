using System.Net;
using System.Text.Json;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Tests;

public sealed class TokenAndUrlTests : IDisposable
{
    private const string Url = "http://hello.localhost:8080/";
    private readonly TempDirectory _dir = new();
    private readonly FakeControlPlaneHandler _handler = new();

    public void Dispose() => _dir.Dispose();

    private Task<CliResult> Run(params string[] args) => Cli.RunAsync(_handler, Cli.Environment(_dir), args);

    private static ServiceView Running(ServiceAccess access = ServiceAccess.Public) => TestData.Service("hello", 1,
        TestData.Instance("hello-aaaa1111", "hello", "node-1", InstanceState.Running, "", "http://10.0.0.5:20001"))
        with { Url = Url, Spec = TestData.Spec("hello", 1) with { Access = access } };

    [Fact]
    public async Task Deploy_prints_the_stable_url_besides_the_instance_urls()
    {
        var file = _dir.File("hello.json", """{ "name": "hello", "command": "dotnet" }""");
        _handler.Respond(HttpMethod.Post, "/v1/services", HttpStatusCode.Created, Running())
            .Respond(HttpMethod.Get, "/v1/services/hello", HttpStatusCode.OK, Running());

        var result = await Run("deploy", file);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("http://10.0.0.5:20001", result.Out);
        Assert.Contains($"stable URL: {Url}", result.Out);
        Assert.DoesNotContain("needs a token", result.Out);
    }

    [Fact]
    public async Task Deploy_no_wait_of_a_token_service_prints_the_url_and_how_to_get_a_token()
    {
        var file = _dir.File("hello.json", """{ "name": "hello", "command": "dotnet", "access": "token" }""");
        _handler.Respond(HttpMethod.Post, "/v1/services", HttpStatusCode.Created, Running(ServiceAccess.Token));

        var result = await Run("deploy", file, "--no-wait");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"stable URL: {Url}", result.Out);
        Assert.Contains("vcluster token create --service hello --ttl 1h", result.Out);
    }

    [Fact]
    public async Task Services_and_status_show_a_url_column_and_json_carries_it()
    {
        _handler.Respond(HttpMethod.Get, "/v1/services", HttpStatusCode.OK, new[] { Running() })
            .Respond(HttpMethod.Get, "/v1/status", HttpStatusCode.OK, new ClusterStatus([TestData.Node("node-1")], [Running()]));

        var services = await Run("services");
        var status = await Run("status");
        var json = await Run("services", "-o", "json");

        Assert.Contains("URL", services.Out);
        Assert.Contains(Url, services.Out);
        Assert.Contains(Url, status.Out);
        Assert.Equal(Url, JsonSerializer.Deserialize<ServiceView[]>(json.Out, VirtualClusterJson.Options)![0].Url);
    }

    [Fact]
    public async Task Services_without_a_known_gateway_show_a_dash()
    {
        _handler.Respond(HttpMethod.Get, "/v1/services", HttpStatusCode.OK, new[] { Running() with { Url = null } });
        var result = await Run("services");
        Assert.Equal(0, result.ExitCode);
        Assert.DoesNotContain("localhost:8080", result.Out);
    }

    [Fact]
    public async Task Token_create_posts_service_and_ttl_and_prints_only_the_token_on_stdout()
    {
        _handler.Respond(HttpMethod.Post, "/v1/tokens", HttpStatusCode.Created,
            new ServiceTokenResponse("eyJ.token.sig", "hello", DateTimeOffset.Parse("2031-01-01T10:00:00Z"), ServiceAccess.Token, Url));

        var result = await Run("token", "create", "--service", "hello", "--ttl", "2h");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("eyJ.token.sig", result.Out.Trim());
        Assert.Contains("valid until 2031-01-01 10:00:00 UTC", result.Err);
        Assert.Contains($"{Url}?vc_token=<token>", result.Err);
        var request = Assert.Single(_handler.Requests);
        var body = JsonSerializer.Deserialize<ServiceTokenRequest>(request.Body!, VirtualClusterJson.Options)!;
        Assert.Equal(new ServiceTokenRequest("hello", TimeSpan.FromHours(2)), body);
    }

    [Fact]
    public async Task Token_create_defaults_to_one_hour_and_warns_for_a_public_service()
    {
        _handler.Respond(HttpMethod.Post, "/v1/tokens", HttpStatusCode.Created,
            new ServiceTokenResponse("t", "hello", DateTimeOffset.UtcNow.AddHours(1), ServiceAccess.Public));

        var result = await Run("token", "create", "--service", "hello");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(TimeSpan.FromHours(1), JsonSerializer.Deserialize<ServiceTokenRequest>(_handler.Requests[0].Body!, VirtualClusterJson.Options)!.Ttl);
        Assert.Contains("is public", result.Err);
    }

    [Fact]
    public async Task Token_create_json_output_carries_every_field()
    {
        _handler.Respond(HttpMethod.Post, "/v1/tokens", HttpStatusCode.Created,
            new ServiceTokenResponse("t", "hello", DateTimeOffset.Parse("2031-01-01T10:00:00Z"), ServiceAccess.Token, Url));
        var result = await Run("token", "create", "-s", "hello", "--ttl", "7d", "-o", "json");
        var parsed = JsonSerializer.Deserialize<ServiceTokenResponse>(result.Out, VirtualClusterJson.Options)!;
        Assert.Equal(("t", Url), (parsed.Token, parsed.Url));
        Assert.Equal(TimeSpan.FromDays(7), JsonSerializer.Deserialize<ServiceTokenRequest>(_handler.Requests[0].Body!, VirtualClusterJson.Options)!.Ttl);
    }

    [Theory]
    [InlineData("0s", "at least 1 second")]
    [InlineData("-1h", "positive duration")]
    [InlineData("31d", "at most 30 days")]
    [InlineData("soon", "positive duration")]
    [InlineData("1y", "positive duration")]
    public async Task Token_create_rejects_bad_ttls_before_calling_the_control_plane(string ttl, string message)
    {
        var result = await Run("token", "create", "--service", "hello", "--ttl", ttl);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Err);
        Assert.Empty(_handler.Requests);
    }

    [Fact]
    public async Task Token_create_needs_a_service()
    {
        var result = await Run("token", "create");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--service", result.Err);
    }

    [Fact]
    public async Task Token_create_shows_the_control_planes_error()
    {
        _handler.Respond(HttpMethod.Post, "/v1/tokens", HttpStatusCode.NotFound, new ApiError("no service named \"nope\"; `vcluster services` lists the deployed ones"));
        var result = await Run("token", "create", "--service", "nope");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("no service named \"nope\"", result.Err);
    }
}
