using System.Net;
using System.Text.Json;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Tests;

/// <summary><c>vcluster user</c> and <c>vcluster token create --user</c> against a fake control plane (the real API is tested in ControlPlane.Tests' Security folder).</summary>
public sealed class UserCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeControlPlaneHandler _handler = new();

    public void Dispose() => _dir.Dispose();

    private Task<CliResult> Run(params string[] args) => Cli.RunAsync(_handler, Cli.Environment(_dir), args);

    [Fact]
    public async Task User_add_sends_name_and_role_and_says_how_to_get_a_token()
    {
        _handler.Respond(HttpMethod.Post, "/v1/users", HttpStatusCode.Created, new UserView("vic", "viewer", DateTimeOffset.UtcNow));

        var result = await Run("user", "add", "vic", "--role", "viewer");

        Assert.True(result.ExitCode == 0, result.ToString());
        var sent = JsonSerializer.Deserialize<AddUserRequest>(_handler.Requests[0].Body!, VirtualClusterJson.Options);
        Assert.Equal(("vic", "viewer"), (sent!.Name, sent.Role));
        Assert.Contains("vcluster token create --user vic", result.Out);
    }

    [Fact]
    public async Task User_add_refuses_an_unknown_role_before_calling_the_control_plane()
    {
        var result = await Run("user", "add", "vic", "--role", "root");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("root", result.Err);
        Assert.Empty(_handler.Requests);
    }

    [Fact]
    public async Task User_list_prints_a_table_and_json()
    {
        var users = new[] { new UserView("ann", "admin", DateTimeOffset.Parse("2031-01-01T10:00:00Z")), new UserView("vic", "viewer", DateTimeOffset.Parse("2031-01-02T10:00:00Z")) };
        _handler.Respond(HttpMethod.Get, "/v1/users", HttpStatusCode.OK, users);

        var table = await Run("user", "list");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("ann", table.Out);
        Assert.Contains("viewer", table.Out);
        Assert.Contains("2031-01-02 10:00:00 UTC", table.Out);

        var json = await Run("user", "list", "-o", "json");
        Assert.Equal(users, JsonSerializer.Deserialize<UserView[]>(json.Out, VirtualClusterJson.Options));
    }

    [Fact]
    public async Task User_rm_shows_the_control_planes_error_for_an_unknown_user()
    {
        _handler.Respond(HttpMethod.Delete, "/v1/users/nobody", HttpStatusCode.NotFound, new ApiError("no user named \"nobody\"; `vcluster user list` shows them"));
        var result = await Run("user", "rm", "nobody");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("no user named \"nobody\"", result.Err);
    }

    [Fact]
    public async Task Token_create_for_a_user_sends_role_and_ttl_and_prints_the_token_alone()
    {
        _handler.Respond(HttpMethod.Post, "/v1/users/vic/tokens", HttpStatusCode.Created,
            new UserTokenResponse("tok", "vic", "viewer", DateTimeOffset.Parse("2031-01-01T18:00:00Z")));

        var result = await Run("token", "create", "--user", "vic", "--role", "viewer", "--ttl", "60d");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("tok", result.Out.Trim());
        var sent = JsonSerializer.Deserialize<UserTokenRequest>(_handler.Requests[0].Body!, VirtualClusterJson.Options);
        Assert.Equal(("viewer", TimeSpan.FromDays(60)), (sent!.Role, sent.Ttl));
        Assert.Contains("viewer token for user \"vic\"", result.Err);
    }

    [Theory]
    [InlineData(new[] { "token", "create", "--user", "vic", "--service", "hello" }, "one of")]
    [InlineData(new[] { "token", "create", "--service", "hello", "--role", "viewer" }, "--role goes with --user")]
    [InlineData(new[] { "token", "create", "--service", "hello", "--ttl", "60d" }, "at most 30 days")]
    [InlineData(new[] { "token", "create", "--user", "vic", "--ttl", "91d" }, "at most 90 days")]
    [InlineData(new[] { "token", "create", "--user", "vic", "--role", "root" }, "root")]
    public async Task Token_create_refuses_bad_combinations_before_calling_the_control_plane(string[] args, string message)
    {
        var result = await Run(args);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Err);
        Assert.Empty(_handler.Requests);
    }
}
