using System.Net;
using System.Net.Http.Json;
using VirtualCluster.Api;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Tests.Security;

/// <summary>Users, roles and the audit trail on a real control plane.</summary>
public sealed class RoleTests : IAsyncLifetime
{
    private const string Spec = """{ "name": "web", "command": "dotnet", "args": ["x.dll"] }""";
    private ApiSecurityHost host = null!;

    public async Task InitializeAsync() => host = await ApiSecurityHost.StartAsync();

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task Each_role_reaches_exactly_its_tier()
    {
        var viewer = host.Client(await host.AddUserWithTokenAsync("vic", TokenRoles.Viewer));
        var op = host.Client(await host.AddUserWithTokenAsync("olga", TokenRoles.Operator));
        var admin = host.Client(await host.AddUserWithTokenAsync("ann", TokenRoles.Admin));

        // Reads: everyone.
        foreach (var client in new[] { viewer, op, admin })
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("v1/status")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("v1/capacity")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("v1/whoami")).StatusCode);
        }
        // Running services: operators and admins.
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsync("v1/services", ApiSecurityHost.Json(Spec))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await op.PostAsync("v1/services", ApiSecurityHost.Json(Spec))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync("v1/services/web/logs")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await op.GetAsync("v1/services/web/logs")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await op.PostAsync("v1/tokens", ApiSecurityHost.Json("""{"service":"web","ttl":"01:00:00"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("v1/services/web")).StatusCode);
        // Users: admins only.
        Assert.Equal(HttpStatusCode.Forbidden, (await op.GetAsync("v1/users")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("v1/users")).StatusCode);
        foreach (var client in new[] { viewer, op, admin }) client.Dispose();
    }

    [Fact]
    public async Task Whoami_names_the_user_and_its_role()
    {
        using var viewer = host.Client(await host.AddUserWithTokenAsync("vic", TokenRoles.Viewer));
        var me = await viewer.GetFromJsonAsync<WhoAmI>("v1/whoami", VirtualClusterJson.Options);
        Assert.Equal(("user:vic", TokenRoles.Viewer), (me!.Subject, me.Role));
        Assert.NotNull(me.ExpiresAt);
    }

    [Fact]
    public async Task A_token_can_carry_a_lower_role_than_its_user_but_never_a_higher_one()
    {
        var lower = await host.AddUserWithTokenAsync("ann", TokenRoles.Admin, tokenRole: TokenRoles.Viewer);
        using (var client = host.Client(lower))
            Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsync("v1/services", ApiSecurityHost.Json(Spec))).StatusCode);

        await host.AddUserWithTokenAsync("vic", TokenRoles.Viewer);
        using var admin = host.Client(host.AdminToken);
        var higher = await admin.PostAsync("v1/users/vic/tokens", ApiSecurityHost.Json("""{"role":"admin","ttl":"01:00:00"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, higher.StatusCode);
        Assert.Contains("viewer or lower", (await higher.Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options))!.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Removing_a_user_kills_its_tokens_within_the_cache_time()
    {
        using var rita = host.Client(await host.AddUserWithTokenAsync("rita", TokenRoles.Operator));
        Assert.Equal(HttpStatusCode.OK, (await rita.GetAsync("v1/status")).StatusCode);
        using var admin = host.Client(host.AdminToken);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("v1/users/rita")).StatusCode);

        // The control plane that removed the user drops its copy at once; other control planes within UserDirectory.CacheFor.
        var answer = await rita.GetAsync("v1/status");
        Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
        Assert.Contains("was removed", (await answer.Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options))!.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_change_is_audited_with_who_from_where_and_the_answer()
    {
        using var op = host.Client(await host.AddUserWithTokenAsync("olga", TokenRoles.Operator));
        Assert.Equal(HttpStatusCode.Created, (await op.PostAsync("v1/services", ApiSecurityHost.Json(Spec))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await op.GetAsync("v1/services")).StatusCode); // a read: not audited

        using var admin = host.Client(host.AdminToken);
        var audit = await admin.GetFromJsonAsync<ClusterEvent[]>("v1/events?kind=audit", VirtualClusterJson.Options);
        Assert.Contains(audit!, e => e.Subject == "user:olga" && e.Message.Contains("(operator) from 127.0.0.1: POST /v1/services -> 201", StringComparison.Ordinal));
        Assert.Contains(audit!, e => e.Subject == "admin" && e.Message.Contains("POST /v1/users -> 201", StringComparison.Ordinal));
        Assert.DoesNotContain(audit!, e => e.Message.Contains("GET ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"name":"Bad Name","role":"viewer"}""", 400, "is not a user name")]
    [InlineData("""{"name":"","role":"viewer"}""", 400, "is not a user name")]
    [InlineData("""{"name":"ok","role":"root"}""", 400, "is not a role")]
    [InlineData("""{"name":"ok"}""", 400, "is not a role")]
    [InlineData("""{"name":"ok","role":["admin"]}""", 400, "not a valid AddUserRequest")]
    [InlineData("""[1,2""", 400, "not a valid AddUserRequest")]
    public async Task Bad_user_requests_answer_400_with_the_reason(string json, int status, string message)
    {
        using var admin = host.Client(host.AdminToken);
        var response = await admin.PostAsync("v1/users", ApiSecurityHost.Json(json));
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Contains(message, (await response.Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options))!.Error, StringComparison.Ordinal);
        Assert.Equal("[]", await admin.GetStringAsync("v1/users"));
    }

    [Theory]
    [InlineData("""{"name":"Role","role":"viewer"}""", "name")]   // a bad name that mentions "role" still names the name
    [InlineData("""{"name":"ok","role":"root"}""", "role")]
    public async Task Bad_user_requests_name_the_field(string json, string field)
    {
        using var admin = host.Client(host.AdminToken);
        var error = await (await admin.PostAsync("v1/users", ApiSecurityHost.Json(json))).Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options);
        Assert.Equal(field, Assert.Single(error!.Errors!).Field);
    }

    [Theory]
    [InlineData("""{"role":null,"ttl":"00:00:00"}""", 400, "ttl must be positive")]
    [InlineData("""{"role":null,"ttl":"91.00:00:00"}""", 400, "at most 90 days")]
    [InlineData("""{"role":"root","ttl":"01:00:00"}""", 400, "is not a role")]
    [InlineData("""{"ttl":"nope"}""", 400, "not a valid UserTokenRequest")]
    public async Task Bad_user_token_requests_answer_400_with_the_reason(string json, int status, string message)
    {
        await host.AddUserWithTokenAsync("vic", TokenRoles.Viewer);
        using var admin = host.Client(host.AdminToken);
        var response = await admin.PostAsync("v1/users/vic/tokens", ApiSecurityHost.Json(json));
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Contains(message, (await response.Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options))!.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Users_are_unique_and_unknown_ones_answer_404()
    {
        using var admin = host.Client(host.AdminToken);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsync("v1/users", ApiSecurityHost.Json("""{"name":"vic","role":"viewer"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsync("v1/users", ApiSecurityHost.Json("""{"name":"vic","role":"admin"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("v1/users/nobody")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync("v1/users/nobody/tokens", ApiSecurityHost.Json("""{"ttl":"01:00:00"}"""))).StatusCode);
        var users = await admin.GetFromJsonAsync<UserView[]>("v1/users", VirtualClusterJson.Options);
        Assert.Equal(("vic", TokenRoles.Viewer), (Assert.Single(users!).Name, users![0].Role));
    }

    [Fact]
    public async Task Concurrent_adds_all_land()
    {
        using var admin = host.Client(host.AdminToken);
        var adds = Enumerable.Range(0, 12).Select(i => admin.PostAsync("v1/users", ApiSecurityHost.Json($$"""{"name":"u{{i}}","role":"viewer"}""")));
        var answers = await Task.WhenAll(adds);
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Created, a.StatusCode));
        Assert.Equal(12, (await admin.GetFromJsonAsync<UserView[]>("v1/users", VirtualClusterJson.Options))!.Length);
    }
}
