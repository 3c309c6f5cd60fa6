using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Keys;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Tests.Security;

/// <summary>
/// Key rotation through the API of a real control plane on Kestrel, on a clock a test can move months ahead: the JWK Set, the key list, an
/// admin's rotation, the grace of the old key, and the attack-table row of a token signed by a rotated-out key after
/// its grace (forged with a backup of the old private key).
/// </summary>
public sealed class KeyRotationApiTests : IAsyncLifetime
{
    private readonly ShiftedClock _time = new();
    private ApiSecurityHost host = null!;

    public async Task InitializeAsync() => host = await ApiSecurityHost.StartAsync(time: _time);

    public async Task DisposeAsync() => await host.DisposeAsync();

    private string KeyFile(string kid) => Path.Combine(host.DataDirectory, SigningKeyFiles.FolderName, kid + ".pem");

    private async Task<TokenKeysResponse> RotateAsync()
    {
        using var admin = host.Client(host.AdminToken);
        var response = await admin.PostAsync("v1/keys/rotate", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<TokenKeysResponse>(VirtualClusterJson.Options))!;
    }

    [Fact]
    public async Task Attack_a_token_signed_by_a_rotated_out_key_after_its_grace_is_refused_logged_and_changes_nothing()
    {
        var oldKid = host.Tokens.Keys.SigningKeyId!;
        // The attacker's copy of the old private key: a backup of the data directory taken before the rotation.
        using var stolen = TokenSigningKey.FromPem(await File.ReadAllTextAsync(KeyFile(oldKid)));
        var cluster = host.Credentials.ClusterId;
        var keys = await RotateAsync();
        var retireAfter = keys.Keys.Single(k => k.Kid == oldKid).RetireAfter!.Value;
        host.ReloadAdminToken();

        // Positive control: during the grace the old key's tokens are still honoured (that is the overlap).
        using (var during = host.Client(KeyAttacks.Admin(stolen.Credentials, cluster, _time.GetUtcNow())))
            Assert.Equal(HttpStatusCode.OK, (await during.GetAsync("v1/status")).StatusCode);

        _time.Advance(retireAfter - _time.GetUtcNow());
        host.ReloadAdminToken();
        var before = await AttackTableTests.SnapshotAsync(host);
        var refusalsBefore = host.Logs.Count(l => l.Contains("Refused", StringComparison.Ordinal));

        var forged = KeyAttacks.Admin(stolen.Credentials, cluster, _time.GetUtcNow()); // fresh times: only the key is wrong
        var response = await host.Client(forged).PostAsync("v1/users", ApiSecurityHost.Json("""{"name":"mallory","role":"admin"}"""));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = await response.Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options);
        Assert.Contains($"key \"{oldKid}\", rotated out and retired", error!.Error, StringComparison.Ordinal);
        Assert.Equal(before, await AttackTableTests.SnapshotAsync(host));
        Assert.True(host.Logs.Count(l => l.Contains("Refused", StringComparison.Ordinal) && l.Contains("retired", StringComparison.Ordinal)) > 0);
        Assert.True(host.Logs.Count(l => l.Contains("Refused", StringComparison.Ordinal)) > refusalsBefore);
    }

    [Fact]
    public async Task The_JWK_Set_is_public_RFC_7517_and_holds_no_private_part()
    {
        var anonymous = host.Client(null);
        var response = await anonymous.GetAsync("v1/jwks");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/jwk-set+json", response.Content.Headers.ContentType!.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(text, await anonymous.GetStringAsync("/.well-known/jwks.json"));

        using var json = JsonDocument.Parse(text);
        var key = Assert.Single(json.RootElement.GetProperty("keys").EnumerateArray());
        Assert.Equal(["alg", "crv", "kid", "kty", "use", "x", "y"], key.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("EC", key.GetProperty("kty").GetString());
        Assert.Equal("P-256", key.GetProperty("crv").GetString());
        Assert.Equal("ES256", key.GetProperty("alg").GetString());
        Assert.Equal("sig", key.GetProperty("use").GetString());
        Assert.Equal(host.Tokens.Keys.SigningKeyId, key.GetProperty("kid").GetString());
        Assert.Equal(host.Credentials.ClusterId, json.RootElement.GetProperty("cluster").GetString());
        // Every issued token names a key of the set.
        Assert.Equal(host.Tokens.Keys.SigningKeyId, new JsonWebToken(host.AdminToken).Kid);
        Assert.Equal("ES256", new JsonWebToken(host.MachineToken).Alg);
    }

    [Fact]
    public async Task Rotation_on_demand_overlaps_old_and_new_keys_reissues_the_bootstrap_tokens_and_renews_machine_tokens()
    {
        var oldKid = host.Tokens.Keys.SigningKeyId!;
        var oldAdmin = host.AdminToken;
        var keys = await RotateAsync();

        var newKid = host.Tokens.Keys.SigningKeyId!;
        Assert.NotEqual(oldKid, newKid);
        Assert.Equal("retiring", keys.Keys.Single(k => k.Kid == oldKid).State);
        Assert.Equal("signing", keys.Keys.Single(k => k.Kid == newKid).State);
        Assert.True(keys.Keys.Single(k => k.Kid == newKid).Here);
        Assert.NotNull(keys.RotateRequestedAt);
        Assert.False(File.Exists(KeyFile(oldKid)));
        Assert.True(File.Exists(KeyFile(newKid)));

        // The JWK Set carries both during the grace; the bootstrap admin token is issued again with the new key, and
        // the old one still works until the old key retires.
        var jwks = await host.Client(null).GetFromJsonAsync<PublicJwkSet>("v1/jwks");
        Assert.Equal(new[] { oldKid, newKid }.Order(), jwks!.Keys!.Select(k => k.Kid!).Order());
        Assert.Equal(newKid, new JsonWebToken(host.ReloadAdminToken()).Kid);
        Assert.Equal(HttpStatusCode.OK, (await host.Client(oldAdmin).GetAsync("v1/status")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client(host.AdminToken).GetAsync("v1/status")).StatusCode);

        // An agent's machine token of the old key is replaced at its next heartbeat.
        var beat = await host.Client(host.MachineToken).PostAsJsonAsync($"v1/nodes/{host.NodeId}/heartbeat",
            new HeartbeatRequest(new ResourceUsage(0, 0, 0), new Resources(4000, 4L << 30, 10L << 30), ["process"], []), VirtualClusterJson.Options);
        var answer = await beat.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<HeartbeatResponse>(VirtualClusterJson.Options);
        Assert.Equal(newKid, new JsonWebToken(answer!.RenewedToken!).Kid);

        // The list, admin only, says the same.
        var listed = await host.Client(host.AdminToken).GetFromJsonAsync<TokenKeysResponse>("v1/keys", VirtualClusterJson.Options);
        Assert.Equal(TimeSpan.FromDays(30), listed!.RotateEvery);
        Assert.Equal(2, listed.Keys.Count);

        // After the grace the old key leaves the set and its tokens (the old bootstrap admin token too) are refused.
        _time.Advance(keys.Keys.Single(k => k.Kid == oldKid).RetireAfter!.Value - _time.GetUtcNow());
        Assert.DoesNotContain((await host.Client(null).GetFromJsonAsync<PublicJwkSet>("v1/jwks"))!.Keys!, k => k.Kid == oldKid);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client(oldAdmin).GetAsync("v1/status")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client(host.ReloadAdminToken()).GetAsync("v1/status")).StatusCode);
        var manager = host.Services.GetRequiredService<TokenKeyManager>();
        Assert.Equal("retired", (await host.Client(host.AdminToken).GetFromJsonAsync<TokenKeysResponse>("v1/keys", VirtualClusterJson.Options))!
            .Keys.Single(k => k.Kid == oldKid).State);
        Assert.NotNull(manager.Ring.SigningKeyId);
    }

    [Fact]
    public async Task Attack_a_token_of_a_stolen_key_is_refused_as_soon_as_an_admin_retires_the_key()
    {
        var stolenKid = host.Tokens.Keys.SigningKeyId!;
        // The attacker's copy of the signing key, taken from this control plane's disk.
        using var stolen = TokenSigningKey.FromPem(await File.ReadAllTextAsync(KeyFile(stolenKid)));
        var cluster = host.Credentials.ClusterId;

        // Positive control: before the retirement, a token forged with the stolen key is honoured.
        using (var before = host.Client(KeyAttacks.Admin(stolen.Credentials, cluster, _time.GetUtcNow())))
            Assert.Equal(HttpStatusCode.OK, (await before.GetAsync("v1/status")).StatusCode);

        // Only an admin may retire; a malformed or unknown key id is refused with what to do.
        var viewer = await host.AddUserWithTokenAsync("vera", TokenRoles.Viewer);
        Assert.Equal(HttpStatusCode.Forbidden, (await host.Client(viewer).PostAsync($"v1/keys/{stolenKid}/retire", null)).StatusCode);
        using var admin = host.Client(host.AdminToken);
        var unknown = await admin.PostAsync("v1/keys/no-such-kid/retire", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("vcluster keys list", (await unknown.Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options))!.Error, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync("v1/keys/a.b/retire", null)).StatusCode);
        Assert.Equal(stolenKid, host.Tokens.Keys.SigningKeyId);

        var response = await admin.PostAsync($"v1/keys/{stolenKid}/retire", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var keys = (await response.Content.ReadFromJsonAsync<TokenKeysResponse>(VirtualClusterJson.Options))!;
        Assert.Equal("retired", keys.Keys.Single(k => k.Kid == stolenKid).State);
        var newKid = host.Tokens.Keys.SigningKeyId!;
        Assert.NotEqual(stolenKid, newKid);
        Assert.Equal("signing", keys.Keys.Single(k => k.Kid == newKid).State);
        Assert.False(File.Exists(KeyFile(stolenKid)));
        Assert.DoesNotContain((await host.Client(null).GetFromJsonAsync<PublicJwkSet>("v1/jwks"))!.Keys!, k => k.Kid == stolenKid);

        // The same moment (no clock moved): the stolen key's tokens are refused, the old bootstrap token too, and the
        // refusal changes nothing.
        var oldAdmin = host.AdminToken;
        host.ReloadAdminToken();
        var snapshot = await AttackTableTests.SnapshotAsync(host);
        var forged = KeyAttacks.Admin(stolen.Credentials, cluster, _time.GetUtcNow());
        var attack = await host.Client(forged).PostAsync("v1/users", ApiSecurityHost.Json("""{"name":"mallory","role":"admin"}"""));
        Assert.Equal(HttpStatusCode.Unauthorized, attack.StatusCode);
        Assert.Contains($"key \"{stolenKid}\", rotated out and retired", (await attack.Content.ReadFromJsonAsync<ApiError>(VirtualClusterJson.Options))!.Error, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client(oldAdmin).GetAsync("v1/status")).StatusCode);
        Assert.Equal(snapshot, await AttackTableTests.SnapshotAsync(host));
        Assert.Contains(host.Logs, l => l.Contains($"Retired token key {stolenKid} at once", StringComparison.Ordinal));

        // The bootstrap admin token was issued again with the new key and works.
        Assert.Equal(newKid, new JsonWebToken(host.AdminToken).Kid);
        Assert.Equal(HttpStatusCode.OK, (await host.Client(host.AdminToken).GetAsync("v1/status")).StatusCode);
    }
}
