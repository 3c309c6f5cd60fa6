using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Api;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Tests.Security;

/// <summary>
/// The attack table of issue 15, the rows that hold today (HMAC tokens, roles, users): each attack against a real
/// control plane is refused with the expected status, logged as a refusal, and changes nothing (services, users and
/// the event log read the same before and after). Each row has its positive control in <see cref="RoleTests"/> or
/// in <see cref="Positive_controls_the_same_requests_succeed_with_the_right_token"/>.
/// </summary>
public sealed class AttackTableTests : IAsyncLifetime
{
    private const string Spec = """{ "name": "web", "command": "dotnet", "args": ["x.dll"] }""";
    private ApiSecurityHost host = null!;

    public async Task InitializeAsync() => host = await ApiSecurityHost.StartAsync();

    public async Task DisposeAsync() => await host.DisposeAsync();

    public static TheoryData<string> Rows => new()
    {
        "no token", "expired user token", "token not yet valid", "alg none", "wrong issuer", "wrong audience (another cluster)",
        "tampered payload", "oversized token", "garbage token", "user token on the agent API", "machine token on the user API",
        "join token on the user API", "service token on the user API", "viewer deploying", "viewer removing a service",
        "operator creating users", "operator creating a user token", "operator introspecting tokens", "heartbeat for another node",
        "removed user's token", "token of a user removed and added again", "replayed single-use join token", "join token past its TTL",
        "revoked join token", "join token signed with the key but never issued", "removed machine heartbeating",
        "removed machine joining again with the old join token", "machine token replaced by a newer join",
        "HS256 signed with the public key (key confusion)", "HS256 signed with the public key, no kid", "token with an unknown kid",
        "operator rotating the keys", "viewer listing the keys",
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public async Task Attack_is_refused_logged_and_changes_nothing(string row)
    {
        using (var admin = host.Client(host.AdminToken))
            (await admin.PostAsync("v1/services", ApiSecurityHost.Json(Spec))).EnsureSuccessStatusCode();
        var prepared = await PrepareAsync(row);
        var before = await SnapshotAsync();
        var logsBefore = host.Logs.Count(l => l.Contains("Refused", StringComparison.Ordinal));

        var (status, response) = await AttackAsync(row, prepared);

        Assert.True((int)response.StatusCode == status, $"{row}: expected {status}, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        var error = await response.Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options);
        Assert.False(string.IsNullOrWhiteSpace(error?.Error), $"{row}: the refusal says why");
        Assert.Equal(before, await SnapshotAsync());
        Assert.True(host.Logs.Count(l => l.Contains("Refused", StringComparison.Ordinal)) > logsBefore, $"{row}: the refusal is logged");
    }

    // What a row needs before the attack (users, tokens), made while the cluster may still change.
    private async Task<string> PrepareAsync(string row) => row switch
    {
        "expired user token" or "token not yet valid" => await host.AddUserWithTokenAsync("ann", TokenRoles.Admin),
        "tampered payload" or "viewer deploying" or "viewer removing a service" => await host.AddUserWithTokenAsync("vic", TokenRoles.Viewer),
        "user token on the agent API" => await host.AddUserWithTokenAsync("ann", TokenRoles.Admin),
        "operator creating users" or "operator creating a user token" or "operator introspecting tokens" or "operator rotating the keys" => await PrepareOperatorAsync(),
        "viewer listing the keys" => await host.AddUserWithTokenAsync("vic", TokenRoles.Viewer),
        "service token on the user API" => await ServiceTokenAsync(),
        "removed user's token" => await PrepareRemovedAsync(addAgain: false),
        "token of a user removed and added again" => await PrepareRemovedAsync(addAgain: true),
        "replayed single-use join token" => await PrepareUsedJoinTokenAsync(),
        "join token past its TTL" => await PrepareExpiredJoinTokenAsync(),
        "revoked join token" => await PrepareRevokedJoinTokenAsync(),
        "removed machine heartbeating" or "removed machine joining again with the old join token" => await PrepareRemovedMachineAsync(),
        "machine token replaced by a newer join" => await PrepareReplacedMachineTokenAsync(),
        _ => "",
    };

    private async Task<string> PrepareOperatorAsync()
    {
        var token = await host.AddUserWithTokenAsync("olga", TokenRoles.Operator);
        return token;
    }

    private async Task<string> ServiceTokenAsync()
    {
        using var admin = host.Client(host.AdminToken);
        var issued = await (await admin.PostAsync("v1/tokens", ApiSecurityHost.Json("""{"service":"web","ttl":"01:00:00"}""")))
            .Content.ReadFromJsonAsync<ServiceTokenResponse>(VirtualClusterJson.Options);
        return issued!.Token;
    }

    private async Task<string> PrepareRemovedAsync(bool addAgain)
    {
        var token = await host.AddUserWithTokenAsync("rita", TokenRoles.Admin);
        using var admin = host.Client(host.AdminToken);
        using (var own = host.Client(token))
            Assert.Equal(HttpStatusCode.OK, (await own.GetAsync("v1/status")).StatusCode); // positive control: it worked
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("v1/users/rita")).StatusCode);
        if (addAgain) (await admin.PostAsync("v1/users", ApiSecurityHost.Json("""{"name":"rita","role":"admin"}"""))).EnsureSuccessStatusCode();
        return token;
    }

    private async Task<string> CreateJoinTokenAsync(string body)
    {
        using var admin = host.Client(host.AdminToken);
        var response = await admin.PostAsync("v1/join-tokens", ApiSecurityHost.Json(body));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JoinTokenResponse>(VirtualClusterJson.Options))!.Token;
    }

    private async Task<string> PrepareUsedJoinTokenAsync()
    {
        var token = await CreateJoinTokenAsync("""{"ttl":"01:00:00","uses":1}""");
        // Positive control: its one use works.
        Assert.Equal(HttpStatusCode.OK, (await JoinAsync(token, "node-first")).StatusCode);
        return token;
    }

    private async Task<string> PrepareExpiredJoinTokenAsync()
    {
        // Listed like any issued token, but issued (by this cluster's key) two hours ago for one hour.
        var past = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(-2));
        var (token, id) = host.Forger(past).IssueJoinToken(TimeSpan.FromHours(1));
        var joins = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Joins.JoinTokenDirectory>(host.Services);
        var (_, _, error) = await joins.AddAsync(new Joins.JoinTokenRecord(id, past.GetUtcNow(), past.GetUtcNow().AddHours(1), null, 0, false, "expired"), default);
        Assert.Null(error);
        return token;
    }

    private async Task<string> PrepareRevokedJoinTokenAsync()
    {
        var token = await CreateJoinTokenAsync("""{"ttl":"01:00:00"}""");
        var id = (await host.Tokens.ValidateAsync(token)).Principal!.TokenId;
        using var admin = host.Client(host.AdminToken);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"v1/join-tokens/{id}")).StatusCode);
        return token;
    }

    private async Task<string> PrepareRemovedMachineAsync()
    {
        var joined = await (await JoinAsync(host.JoinToken, "node-gone")).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JoinResponse>(VirtualClusterJson.Options);
        // Positive control: its machine token works until the node is removed.
        Assert.Equal(HttpStatusCode.OK, (await Beat(joined!.Token, joined.NodeId)).StatusCode);
        using var admin = host.Client(host.AdminToken);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync("v1/nodes/node-gone")).StatusCode);
        return joined.Token + " " + joined.NodeId;
    }

    private async Task<string> PrepareReplacedMachineTokenAsync()
    {
        var first = await (await JoinAsync(host.JoinToken, "node-twice")).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JoinResponse>(VirtualClusterJson.Options);
        Assert.Equal(HttpStatusCode.OK, (await Beat(first!.Token, first.NodeId)).StatusCode);
        var second = await (await JoinAsync(host.JoinToken, "node-twice")).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JoinResponse>(VirtualClusterJson.Options);
        Assert.Equal(first.NodeId, second!.NodeId);
        Assert.Equal(HttpStatusCode.OK, (await Beat(second.Token, second.NodeId)).StatusCode);
        return first.Token + " " + first.NodeId;
    }

    private Task<HttpResponseMessage> Beat(string token, string nodeId) =>
        host.Client(token).PostAsJsonAsync($"v1/nodes/{nodeId}/heartbeat", Heartbeat(), VirtualClusterJson.Options);

    private Task<HttpResponseMessage> JoinAsync(string token, string name) =>
        host.Client(null).PostAsJsonAsync("v1/join",
            new JoinRequest(token, name, "127.0.0.1", new Resources(1000, 1L << 30, 1L << 30), ["process"], new PortRange(22000, 22099), null),
            VirtualClusterJson.Options);

    private async Task<(int Status, HttpResponseMessage Response)> AttackAsync(string row, string prepared)
    {
        var cluster = host.Credentials.ClusterId;
        switch (row)
        {
            case "no token": return (401, await host.Client(null).PostAsync("v1/services", ApiSecurityHost.Json(Spec.Replace("web", "evil"))));
            case "expired user token":
            {
                var past = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(-3));
                var user = await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Users.UserDirectory>(host.Services).FindAsync("ann", default);
                var expired = host.Forger(past).IssueUserToken("ann", TokenRoles.Admin, user!.Generation, TimeSpan.FromHours(1));
                return (401, await host.Client(expired).DeleteAsync("v1/services/web"));
            }
            case "token not yet valid":
            {
                var future = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(3));
                var user = await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Users.UserDirectory>(host.Services).FindAsync("ann", default);
                var early = host.Forger(future).IssueUserToken("ann", TokenRoles.Admin, user!.Generation, TimeSpan.FromHours(1));
                return (401, await host.Client(early).DeleteAsync("v1/services/web"));
            }
            case "alg none":
                return (401, await host.Client(Unsigned($$"""{"sub":"admin","role":"admin","iss":"virtualcluster","aud":"{{cluster}}"}""")).DeleteAsync("v1/services/web"));
            case "wrong issuer":
                return (401, await host.Client(host.Forger(issuer: "someone-else").Issue("admin", TokenRoles.Admin)).DeleteAsync("v1/services/web"));
            case "wrong audience (another cluster)":
                return (401, await host.Client(host.Forger(audience: "vc-0000000000000000").Issue("admin", TokenRoles.Admin)).DeleteAsync("v1/services/web"));
            case "tampered payload":
                return (401, await host.Client(Tamper(prepared, "\"viewer\"", "\"admin\"")).DeleteAsync("v1/services/web"));
            case "oversized token":
                return (401, await host.Client(new string('a', 20 * 1024)).DeleteAsync("v1/services/web"));
            case "garbage token":
                return (401, await host.Client("eyJhbGciOiJIUzI1NiJ9.%%%.!!!").DeleteAsync("v1/services/web"));
            case "user token on the agent API":
                return (403, await host.Client(prepared).PostAsJsonAsync($"v1/nodes/{host.NodeId}/heartbeat", Heartbeat(), VirtualClusterJson.Options));
            case "machine token on the user API":
                return (403, await host.Client(host.MachineToken).PostAsync("v1/services", ApiSecurityHost.Json(Spec.Replace("web", "evil"))));
            case "join token on the user API":
                return (403, await host.Client(host.JoinToken).DeleteAsync("v1/services/web"));
            case "service token on the user API":
                return (403, await host.Client(prepared).DeleteAsync("v1/services/web"));
            case "viewer deploying":
                return (403, await host.Client(prepared).PostAsync("v1/services", ApiSecurityHost.Json(Spec.Replace("web", "evil"))));
            case "viewer removing a service":
                return (403, await host.Client(prepared).DeleteAsync("v1/services/web"));
            case "operator creating users":
                return (403, await host.Client(prepared).PostAsync("v1/users", ApiSecurityHost.Json("""{"name":"mallory","role":"admin"}""")));
            case "operator creating a user token":
                return (403, await host.Client(prepared).PostAsync("v1/users/olga/tokens", ApiSecurityHost.Json("""{"role":"admin","ttl":"01:00:00"}""")));
            case "operator introspecting tokens":
                return (403, await host.Client(prepared).PostAsync("v1/tokens/introspect", ApiSecurityHost.Json($$"""{"token":"{{host.AdminToken}}"}""")));
            case "heartbeat for another node":
                return (403, await host.Client(host.MachineToken).PostAsJsonAsync("v1/nodes/node-someone-else/heartbeat", Heartbeat(), VirtualClusterJson.Options));
            case "removed user's token":
            case "token of a user removed and added again":
                return (401, await host.Client(prepared).DeleteAsync("v1/services/web"));
            case "replayed single-use join token":
            case "join token past its TTL":
            case "revoked join token":
                return (401, await JoinAsync(prepared, "node-intruder"));
            case "removed machine heartbeating":
            case "machine token replaced by a newer join":
            {
                var parts = prepared.Split(' ');
                return (401, await Beat(parts[0], parts[1]));
            }
            case "removed machine joining again with the old join token":
                return (403, await JoinAsync(host.JoinToken, "node-gone"));
            case "join token signed with the key but never issued":
                return (401, await JoinAsync(host.Tokens.IssueJoinToken(TimeSpan.FromHours(1)).Token, "node-intruder"));
            case "HS256 signed with the public key (key confusion)":
                return (401, await host.Client(await KeyAttacks.KeyConfusionTokenAsync(host, withKid: true)).DeleteAsync("v1/services/web"));
            case "HS256 signed with the public key, no kid":
                return (401, await host.Client(await KeyAttacks.KeyConfusionTokenAsync(host, withKid: false)).DeleteAsync("v1/services/web"));
            case "token with an unknown kid":
                return (401, await host.Client(KeyAttacks.UnknownKidToken(cluster)).DeleteAsync("v1/services/web"));
            case "operator rotating the keys":
                return (403, await host.Client(prepared).PostAsync("v1/keys/rotate", null));
            case "viewer listing the keys":
                return (403, await host.Client(prepared).GetAsync("v1/keys"));
            default: throw new ArgumentOutOfRangeException(nameof(row), row, "no such row");
        }
    }

    [Fact]
    public async Task Positive_controls_the_same_requests_succeed_with_the_right_token()
    {
        using var admin = host.Client(host.AdminToken);
        var viewer = await host.AddUserWithTokenAsync("vic", TokenRoles.Viewer);
        var op = await host.AddUserWithTokenAsync("olga", TokenRoles.Operator);
        var userAdmin = await host.AddUserWithTokenAsync("ann", TokenRoles.Admin);

        Assert.Equal(HttpStatusCode.OK, (await host.Client(viewer).GetAsync("v1/services")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await host.Client(op).PostAsync("v1/services", ApiSecurityHost.Json(Spec))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await host.Client(op).DeleteAsync("v1/services/web")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await host.Client(userAdmin).PostAsync("v1/users", ApiSecurityHost.Json("""{"name":"mallory","role":"viewer"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client(userAdmin).PostAsync("v1/tokens/introspect", ApiSecurityHost.Json($$"""{"token":"{{viewer}}"}"""))).StatusCode);
        var beat = await host.Client(host.MachineToken).PostAsJsonAsync($"v1/nodes/{host.NodeId}/heartbeat", Heartbeat(), VirtualClusterJson.Options);
        Assert.Equal(HttpStatusCode.OK, beat.StatusCode);
    }

    // What a request could change: the services' specs, the users, and the events requests cause (audit lines,
    // deploys and removals). Instance states are left out: the reconciler moves them on its own.
    private Task<string> SnapshotAsync() => SnapshotAsync(host);

    internal static async Task<string> SnapshotAsync(ApiSecurityHost host)
    {
        using var admin = host.Client(host.AdminToken);
        var services = await admin.GetFromJsonAsync<ServiceView[]>("v1/services", VirtualClusterJson.Options);
        var specs = string.Join("|", services!.OrderBy(s => s.Spec.Name).Select(s => System.Text.Json.JsonSerializer.Serialize(s.Spec, VirtualClusterJson.Options)));
        var events = await admin.GetFromJsonAsync<ClusterEvent[]>("v1/events?limit=1000", VirtualClusterJson.Options);
        var caused = string.Join("|", events!.Where(e => e.Kind is EventKinds.Audit or EventKinds.ServiceDeployed or EventKinds.ServiceRemoved)
            .Select(e => $"{e.Sequence} {e.Kind} {e.Message}"));
        var nodes = await admin.GetFromJsonAsync<NodeView[]>("v1/nodes", VirtualClusterJson.Options);
        var names = string.Join(",", nodes!.Select(n => n.Node.Name).Order(StringComparer.Ordinal));
        return specs + "\n" + await admin.GetStringAsync("v1/users") + "\n" + caused + "\n" + names;
    }

    private static HeartbeatRequest Heartbeat() =>
        new(new ResourceUsage(0, 0, 0), new Resources(4000, 4L << 30, 10L << 30), ["process"], []);

    private static string Unsigned(string payload) =>
        $"{B64("""{"alg":"none","typ":"JWT"}""")}.{B64(payload)}.";

    private static string Tamper(string token, string from, string to)
    {
        var parts = token.Split('.');
        var payload = Encoding.UTF8.GetString(Convert.FromBase64String(Pad(parts[1].Replace('-', '+').Replace('_', '/'))));
        Assert.Contains(from, payload, StringComparison.Ordinal);
        return $"{parts[0]}.{B64(payload.Replace(from, to, StringComparison.Ordinal))}.{parts[2]}";
    }

    private static string Pad(string s) => s + new string('=', (4 - s.Length % 4) % 4);

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
