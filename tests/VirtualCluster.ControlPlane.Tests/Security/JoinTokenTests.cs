using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Joins;
using VirtualCluster.ControlPlane.Store;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Tests.Security;

/// <summary>
/// Join tokens on a real control plane: limited uses (also when machines race for them), revocation, expiry defaults,
/// a use given back when the join fails, bad input, and clusters made before join tokens were listed.
/// The refusals themselves are rows of <see cref="AttackTableTests"/>.
/// </summary>
public sealed class JoinTokenTests : IAsyncLifetime
{
    private ApiSecurityHost host = null!;

    public async Task InitializeAsync() => host = await ApiSecurityHost.StartAsync();

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task A_token_for_three_uses_admits_exactly_three_of_ten_racing_machines()
    {
        var issued = await CreateAsync("""{"ttl":"01:00:00","uses":3,"description":"rack 2"}""");
        var joins = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => JoinAsync(issued.Token, $"racer-{i}")));
        Assert.Equal(3, joins.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(7, joins.Count(r => r.StatusCode == HttpStatusCode.Unauthorized));
        var refusal = await joins.First(r => r.StatusCode == HttpStatusCode.Unauthorized).Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options);
        Assert.Contains("used for all of its 3 joins", refusal!.Error, StringComparison.Ordinal);
        var listed = (await ListAsync()).Single(t => t.Id == issued.Id);
        Assert.Equal((3, 3, false, "rack 2"), (listed.UsesAllowed!.Value, listed.Used, listed.Revoked, listed.Description));
        using var admin = host.Client(host.AdminToken);
        var nodes = await admin.GetFromJsonAsync<NodeView[]>("v1/nodes", VirtualClusterJson.Options);
        Assert.Equal(3, nodes!.Count(n => n.Node.Name.StartsWith("racer-", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Revoking_the_bootstrap_token_stops_new_joins_and_keeps_joined_machines()
    {
        // Positive control: the bootstrap token admits a machine before it is revoked.
        Assert.Equal(HttpStatusCode.OK, (await JoinAsync(host.JoinToken, "before")).StatusCode);
        var bootstrap = (await ListAsync()).Single(t => t.Bootstrap);
        Assert.Null(bootstrap.ExpiresAt);
        using var admin = host.Client(host.AdminToken);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"v1/join-tokens/{bootstrap.Id}")).StatusCode);

        var refused = await JoinAsync(host.JoinToken, "after");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("revoked", (await refused.Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options))!.Error, StringComparison.Ordinal);
        var beat = await host.Client(host.MachineToken).PostAsJsonAsync($"v1/nodes/{host.NodeId}/heartbeat",
            new HeartbeatRequest(new ResourceUsage(0, 0, 0), new Resources(4000, 4L << 30, 10L << 30), ["process"], []), VirtualClusterJson.Options);
        Assert.Equal(HttpStatusCode.OK, beat.StatusCode);
    }

    [Fact]
    public async Task A_join_that_fails_for_another_reason_gives_its_single_use_back()
    {
        var issued = await CreateAsync("""{"uses":1}""");
        var bad = await host.Client(null).PostAsJsonAsync("v1/join",
            new JoinRequest(issued.Token, "bad", "127.0.0.1", new Resources(-1, 1, 1), ["process"], new PortRange(22000, 22099), null), VirtualClusterJson.Options);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(0, (await ListAsync()).Single(t => t.Id == issued.Id).Used);
        Assert.Equal(HttpStatusCode.OK, (await JoinAsync(issued.Token, "good")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await JoinAsync(issued.Token, "again")).StatusCode);
    }

    [Fact]
    public async Task A_join_token_lives_one_hour_unless_asked_otherwise()
    {
        var before = DateTimeOffset.UtcNow;
        var issued = await CreateAsync("{}");
        Assert.InRange(issued.ExpiresAt, before.AddHours(1).AddSeconds(-5), DateTimeOffset.UtcNow.AddHours(1).AddSeconds(5));
        Assert.Null(issued.Uses);
        var principal = (await host.Tokens.ValidateAsync(issued.Token)).Principal!;
        Assert.Equal((TokenRoles.Join, issued.Id), (principal.Role, principal.TokenId));
    }

    [Theory]
    [InlineData("""{"uses":0}""", "uses")]
    [InlineData("""{"uses":-3}""", "uses")]
    [InlineData("""{"uses":100001}""", "uses")]
    [InlineData("""{"ttl":"00:00:00"}""", "ttl")]
    [InlineData("""{"ttl":"31.00:00:00"}""", "ttl")]
    [InlineData("""{"description":"a\u0007b"}""", "description")]
    [InlineData("""{"ttl":"soon"}""", "ttl")]
    public async Task Bad_requests_say_which_field_is_wrong_and_issue_nothing(string body, string field)
    {
        using var admin = host.Client(host.AdminToken);
        var response = await admin.PostAsync("v1/join-tokens", ApiSecurityHost.Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains(field, text, StringComparison.Ordinal);
        Assert.Single(await ListAsync()); // the bootstrap token only
    }

    [Fact]
    public async Task Only_admins_issue_list_or_revoke_join_tokens()
    {
        var op = await host.AddUserWithTokenAsync("olga", TokenRoles.Operator);
        using var client = host.Client(op);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsync("v1/join-tokens", ApiSecurityHost.Json("{}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("v1/join-tokens")).StatusCode);
        var bootstrap = (await ListAsync()).Single();
        Assert.Equal(HttpStatusCode.Forbidden, (await client.DeleteAsync($"v1/join-tokens/{bootstrap.Id}")).StatusCode);
        using var admin = host.Client(host.AdminToken);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("v1/join-tokens/nope")).StatusCode);
        Assert.False((await ListAsync()).Single().Revoked);
    }

    [Fact]
    public async Task A_cluster_made_before_ES256_gets_new_bootstrap_tokens_and_keeps_its_expiring_HMAC_tokens_for_a_grace()
    {
        var directory = Directory.CreateTempSubdirectory("vc-keys15-legacy-").FullName;
        try
        {
            var state = await EmbeddedClusterState.OpenAsync(directory);
            await using (state)
            {
                // What an earlier release wrote: an HMAC key, a cluster id, never-expiring admin and join tokens, no join-token list.
                var key = TokenService.CreateKey();
                var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
                await state.Store.GetOrAddSettingAsync("signing-key", Convert.ToBase64String(key));
                await state.Store.GetOrAddSettingAsync("cluster-id", "vc-0123456789abcdef");
                var oldJoin = Keys.LegacyTokens.Issue(key, "join", TokenRoles.Join, "vc-0123456789abcdef", time.GetUtcNow(), expires: null);
                var oldAdmin = Keys.LegacyTokens.Issue(key, "admin", TokenRoles.Admin, "vc-0123456789abcdef", time.GetUtcNow(), expires: null);
                var oldMachine = Keys.LegacyTokens.Issue(key, "node-1", TokenRoles.Machine, "vc-0123456789abcdef", time.GetUtcNow(), time.GetUtcNow().AddDays(1));
                await state.Store.GetOrAddSettingAsync("join-token", oldJoin);
                await state.Store.GetOrAddSettingAsync("admin-token", oldAdmin);

                var (keys, tokens, credentials) = await Keys.ClusterKeys.StartAsync(state.Store, directory, time);

                // The bootstrap tokens never expire, so they were issued again with ES256 and written to the files...
                Assert.NotEqual(oldJoin, credentials.JoinToken);
                Assert.NotEqual(oldAdmin, credentials.AdminToken);
                Assert.Equal(credentials.AdminToken, File.ReadAllText(Path.Combine(directory, ClusterCredentials.AdminTokenFile)).Trim());
                Assert.Equal(keys.Ring.SigningKeyId, (await tokens.ValidateAsync(credentials.AdminToken)).Principal!.KeyId);
                // ...the new join token is the listed bootstrap token, and admits a machine...
                var id = (await tokens.ValidateAsync(credentials.JoinToken)).Principal!.TokenId;
                var joins = new JoinTokenDirectory(state.Store, time);
                Assert.True((await joins.FindAsync(id, default))!.Bootstrap);
                Assert.Null(await joins.TakeUseAsync(id, default));
                // ...and the old never-expiring ones are refused, while an expiring token of the old key still works.
                Assert.Contains("old HMAC key and never expires", (await tokens.ValidateAsync(oldAdmin)).Error, StringComparison.Ordinal);
                Assert.True((await tokens.ValidateAsync(oldMachine)).IsValid);
                var legacyUntil = (await keys.ReadAsync()).LegacyUntil!.Value;
                Assert.Equal(time.GetUtcNow() + keys.Grace, legacyUntil);

                // After the grace (the longest lifetime an old token can have, plus the margin) the old key is refused.
                time.Advance(keys.Grace);
                var late = Keys.LegacyTokens.Issue(key, "node-1", TokenRoles.Machine, "vc-0123456789abcdef", time.GetUtcNow(), time.GetUtcNow().AddDays(1));
                Assert.Contains("old HMAC key, retired at", (await tokens.ValidateAsync(late)).Error, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private async Task<JoinTokenResponse> CreateAsync(string body)
    {
        using var admin = host.Client(host.AdminToken);
        var response = await admin.PostAsync("v1/join-tokens", ApiSecurityHost.Json(body));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JoinTokenResponse>(VirtualClusterJson.Options))!;
    }

    private async Task<JoinTokenView[]> ListAsync()
    {
        using var admin = host.Client(host.AdminToken);
        return (await admin.GetFromJsonAsync<JoinTokenView[]>("v1/join-tokens", VirtualClusterJson.Options))!;
    }

    private Task<HttpResponseMessage> JoinAsync(string token, string name) =>
        host.Client(null).PostAsJsonAsync("v1/join",
            new JoinRequest(token, name, "127.0.0.1", new Resources(1000, 1L << 30, 1L << 30), ["process"], new PortRange(22000, 22099), null),
            VirtualClusterJson.Options);
}
