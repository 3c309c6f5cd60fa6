using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Joins;
using VirtualCluster.Security;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Tests.Security;

/// <summary>
/// Removing a node revokes its machine credential: the API, signaling and tunnels (everything that checks tokens with
/// the cluster's token service) refuse it, a second control plane on the same store refuses it within a second, and the
/// machine comes back only with a join token made after the removal.
/// </summary>
public sealed class MachineRevocationTests : IAsyncLifetime
{
    private ApiSecurityHost host = null!;

    public async Task InitializeAsync() => host = await ApiSecurityHost.StartAsync();

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task A_removed_node_is_refused_everywhere_the_token_service_checks_and_comes_back_with_a_new_join_token()
    {
        var tokens = host.Services.GetRequiredService<TokenService>();
        Assert.True((await tokens.ValidateAsync(host.MachineToken)).IsValid); // positive control
        using var admin = host.Client(host.AdminToken);
        var removed = await admin.DeleteAsync("v1/nodes/node-1");
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        Assert.Equal(NodeState.Left, (await removed.Content.ReadFromJsonAsync<NodeInfo>(VirtualClusterJson.Options))!.State);

        var check = await tokens.ValidateAsync(host.MachineToken);
        Assert.Contains("removed", check.Error, StringComparison.Ordinal);
        var signaling = await new VirtualCluster.Routing.Signaling.TokenSignalingAuthenticator([tokens]).AuthenticateAsync(host.MachineToken);
        Assert.Null(signaling.Identity);
        var tunnel = await new VirtualCluster.Routing.Tunnel.SigningKeyTunnelAuthenticator(tokens).AuthenticateAsync(host.MachineToken);
        Assert.Null(tunnel.Peer);

        var again = await JoinAsync(host.JoinToken, "node-1");
        Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode);
        var fresh = await (await admin.PostAsync("v1/join-tokens", ApiSecurityHost.Json("""{"uses":1}"""))).Content.ReadFromJsonAsync<JoinTokenResponse>(VirtualClusterJson.Options);
        var back = await JoinAsync(fresh!.Token, "node-1");
        Assert.Equal(HttpStatusCode.OK, back.StatusCode);
        var joined = await back.Content.ReadFromJsonAsync<JoinResponse>(VirtualClusterJson.Options);
        Assert.True((await tokens.ValidateAsync(joined!.Token)).IsValid);
        Assert.False((await tokens.ValidateAsync(host.MachineToken)).IsValid); // the old credential stays dead
    }

    [Fact]
    public async Task Another_control_plane_on_the_same_store_refuses_the_removed_node_within_its_cache_time()
    {
        var store = host.Services.GetRequiredService<IClusterStore>();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var other = new MachineCredentialDirectory(store, time);
        var principal = (await host.Tokens.ValidateAsync(host.MachineToken)).Principal!;
        Assert.Null(await other.CheckAsync(principal)); // it accepts the node, and has a copy now

        using var admin = host.Client(host.AdminToken);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"v1/nodes/{host.NodeId}")).StatusCode);
        time.Advance(MachineCredentialDirectory.CacheFor);
        Assert.Contains("removed", await other.CheckAsync(principal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Removing_an_unknown_node_is_a_404_and_takes_an_admin()
    {
        var op = await host.AddUserWithTokenAsync("olga", TokenRoles.Operator);
        Assert.Equal(HttpStatusCode.Forbidden, (await host.Client(op).DeleteAsync("v1/nodes/node-1")).StatusCode);
        using var admin = host.Client(host.AdminToken);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("v1/nodes/nobody")).StatusCode);
        Assert.True((await host.Tokens.ValidateAsync(host.MachineToken)).IsValid);
    }

    private Task<HttpResponseMessage> JoinAsync(string token, string name) =>
        host.Client(null).PostAsJsonAsync("v1/join",
            new JoinRequest(token, name, "127.0.0.1", new Resources(1000, 1L << 30, 1L << 30), ["process"], new PortRange(22000, 22099), null),
            VirtualClusterJson.Options);
}
