using System.Net;
using System.Text.Json;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Tests;

/// <summary><c>vcluster token create --join</c>, <c>token list</c> and <c>token revoke</c> against a fake control plane (the real API is tested in ControlPlane.Tests' JoinTokenTests).</summary>
public sealed class JoinTokenCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeControlPlaneHandler _handler = new();

    public void Dispose() => _dir.Dispose();

    private Task<CliResult> Run(params string[] args) => Cli.RunAsync(_handler, Cli.Environment(_dir), args);

    [Fact]
    public async Task Create_join_sends_ttl_uses_and_description_and_prints_only_the_token_on_stdout()
    {
        _handler.Respond(HttpMethod.Post, "/v1/join-tokens", HttpStatusCode.Created,
            new JoinTokenResponse("eyJ.join.token", "abc123", DateTimeOffset.Parse("2031-01-01T10:00:00Z"), 1, "laptop"));

        var result = await Run("token", "create", "--join", "--ttl", "2h", "--uses", "1", "--description", "laptop");

        Assert.True(result.ExitCode == 0, result.ToString());
        var sent = JsonSerializer.Deserialize<JoinTokenRequest>(_handler.Requests[0].Body!, VirtualClusterJson.Options);
        Assert.Equal((TimeSpan.FromHours(2), 1, "laptop"), (sent!.Ttl, sent.Uses, sent.Description));
        Assert.Equal("eyJ.join.token", result.Out.Trim());
        Assert.Contains("one machine", result.Err);
        Assert.Contains("vcluster token revoke abc123", result.Err);
    }

    [Theory]
    [InlineData(new[] { "token", "create", "--join", "--uses", "0" }, "invalid --uses 0")]
    [InlineData(new[] { "token", "create", "--join", "--ttl", "31d" }, "join tokens live at most 30 days")]
    [InlineData(new[] { "token", "create", "--join", "--role", "viewer" }, "--role goes with --user")]
    [InlineData(new[] { "token", "create", "--service", "hello", "--uses", "2" }, "--uses and --description go with --join")]
    [InlineData(new[] { "token", "create", "--join", "--user", "vic" }, "one of")]
    public async Task Bad_join_token_flags_are_refused_before_calling_the_control_plane(string[] args, string message)
    {
        var result = await Run(args);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Err);
        Assert.Empty(_handler.Requests);
    }

    [Fact]
    public async Task List_shows_uses_and_state_and_revoke_names_the_bootstrap_token()
    {
        var tokens = new[]
        {
            new JoinTokenView("t1", DateTimeOffset.Parse("2031-01-01T10:00:00Z"), DateTimeOffset.Parse("2031-01-01T11:00:00Z"), 1, 1, false, "laptop", false),
            new JoinTokenView("boot", DateTimeOffset.Parse("2030-01-01T10:00:00Z"), null, null, 4, false, null, true),
        };
        _handler.Respond(HttpMethod.Get, "/v1/join-tokens", HttpStatusCode.OK, tokens);
        var list = await Run("token", "list");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains("used up", list.Out);
        Assert.Contains("1/1", list.Out);
        Assert.Contains("never", list.Out);

        _handler.Respond(HttpMethod.Delete, "/v1/join-tokens/boot", HttpStatusCode.OK, tokens[1] with { Revoked = true });
        var revoke = await Run("token", "revoke", "boot");
        Assert.True(revoke.ExitCode == 0, revoke.ToString());
        Assert.Contains("bootstrap", revoke.Out);
        Assert.Contains("admitted 4 join(s)", revoke.Out);
    }
}
