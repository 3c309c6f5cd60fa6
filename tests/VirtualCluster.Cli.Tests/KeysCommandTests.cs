using System.Net;
using System.Text.Json;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Tests;

/// <summary><c>vcluster keys list|rotate</c> against a fake control plane (the real API is tested in ControlPlane.Tests' KeyRotationApiTests).</summary>
public sealed class KeysCommandTests : IDisposable
{
    private static readonly TokenKeysResponse Keys = new(
        [
            new TokenKeyView("old-kid", DateTimeOffset.Parse("2031-01-01T10:00:00Z"), DateTimeOffset.Parse("2031-04-02T10:00:00Z"), "retiring", false),
            new TokenKeyView("new-kid", DateTimeOffset.Parse("2031-01-02T10:00:00Z"), null, "signing", true),
        ],
        TimeSpan.FromDays(30), DateTimeOffset.Parse("2031-01-02T10:00:00Z"), null);

    private readonly TempDirectory _dir = new();
    private readonly FakeControlPlaneHandler _handler = new();

    public void Dispose() => _dir.Dispose();

    private Task<CliResult> Run(params string[] args) => Cli.RunAsync(_handler, Cli.Environment(_dir), args);

    [Fact]
    public async Task Keys_list_prints_each_key_with_its_state_and_json()
    {
        _handler.Respond(HttpMethod.Get, "/v1/keys", HttpStatusCode.OK, Keys);

        var table = await Run("keys", "list");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("old-kid", table.Out);
        Assert.Contains("retiring", table.Out);
        Assert.Contains("2031-04-02 10:00 UTC", table.Out);
        Assert.Contains("rotate every 30 days", table.Out);

        var json = await Run("keys", "list", "-o", "json");
        Assert.Equal(JsonSerializer.Serialize(Keys, VirtualClusterJson.Options),
            JsonSerializer.Serialize(JsonSerializer.Deserialize<TokenKeysResponse>(json.Out, VirtualClusterJson.Options), VirtualClusterJson.Options));
    }

    [Fact]
    public async Task Keys_rotate_posts_and_says_until_when_old_tokens_work()
    {
        _handler.Respond(HttpMethod.Post, "/v1/keys/rotate", HttpStatusCode.OK, Keys);

        var result = await Run("keys", "rotate");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(HttpMethod.Post, _handler.Requests.Single().Method);
        Assert.Contains("new-kid", result.Out);
        Assert.Contains("accepted until they expire (at the latest 2031-04-02 10:00 UTC)", result.Out);
    }

    [Fact]
    public async Task Keys_rotate_shows_the_control_planes_refusal_for_a_non_admin()
    {
        _handler.Respond(HttpMethod.Post, "/v1/keys/rotate", HttpStatusCode.Forbidden, new ApiError("this needs an admin token; yours is an operator token"));

        var result = await Run("keys", "rotate");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("needs an admin token", result.Err);
    }

    [Fact]
    public async Task Keys_retire_posts_the_escaped_kid_and_says_what_it_did()
    {
        _handler.Respond(HttpMethod.Post, "/v1/keys/old-kid/retire", HttpStatusCode.OK, Keys);

        var result = await Run("keys", "retire", "old-kid");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("/v1/keys/old-kid/retire", _handler.Requests.Single().Uri.AbsolutePath);
        Assert.Contains("retired old-kid: every token it signed is refused now", result.Out);
    }

    [Fact]
    public async Task Keys_retire_of_an_unknown_kid_shows_the_control_planes_answer()
    {
        _handler.Respond(HttpMethod.Post, "/v1/keys/nope/retire", HttpStatusCode.NotFound, new ApiError("No published key has the id \"nope\"; `vcluster keys list` shows the keys."));

        var result = await Run("keys", "retire", "nope");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("No published key has the id", result.Err);
    }
}
