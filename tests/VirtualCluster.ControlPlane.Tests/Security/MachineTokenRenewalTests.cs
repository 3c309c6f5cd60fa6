using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Tests.Security;

/// <summary>
/// Machine tokens expire, and a heartbeat past half of one's lifetime answers with a fresh one for the same node. The
/// control plane runs on a fake clock, so "early" and "late" are set by the test, not by how fast a loaded machine is.
/// </summary>
public sealed class MachineTokenRenewalTests : IAsyncLifetime
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);
    private readonly FakeTimeProvider time = new(DateTimeOffset.UtcNow);
    private ApiSecurityHost host = null!;

    public async Task InitializeAsync() => host = await ApiSecurityHost.StartAsync(o => o.MachineTokenLifetime = Lifetime, time);

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task A_heartbeat_after_half_the_lifetime_gets_a_fresh_token_and_the_old_one_then_expires()
    {
        var first = (await host.Tokens.ValidateAsync(host.MachineToken)).Principal!;
        Assert.Equal(time.GetUtcNow() + Lifetime, first.ExpiresAt!.Value, TimeSpan.FromSeconds(1));

        // Early in the token's life: nothing new (the negative control of the renewal below).
        Assert.Null((await Beat(host.MachineToken)).RenewedToken);
        time.Advance(Lifetime / 2 - TimeSpan.FromMinutes(1));
        Assert.Null((await Beat(host.MachineToken)).RenewedToken);

        time.Advance(TimeSpan.FromMinutes(2));
        var renewed = (await Beat(host.MachineToken)).RenewedToken;
        Assert.NotNull(renewed);
        var second = (await host.Tokens.ValidateAsync(renewed)).Principal!;
        Assert.Equal((first.Subject, first.Role, first.MachineGeneration), (second.Subject, second.Role, second.MachineGeneration));
        Assert.Equal(time.GetUtcNow() + Lifetime, second.ExpiresAt!.Value, TimeSpan.FromSeconds(1));

        // The old token runs out; the new one goes on working.
        time.Advance(Lifetime / 2);
        using (var old = await host.Client(host.MachineToken).PostAsJsonAsync($"v1/nodes/{host.NodeId}/heartbeat", Request(), VirtualClusterJson.Options))
            Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        // Accepted (Beat asserts 200); half of its life has passed by now, so it is renewed in turn.
        Assert.NotNull((await Beat(renewed!)).RenewedToken);
    }

    private async Task<HeartbeatResponse> Beat(string token)
    {
        using var response = await host.Client(token).PostAsJsonAsync($"v1/nodes/{host.NodeId}/heartbeat", Request(), VirtualClusterJson.Options);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<HeartbeatResponse>(VirtualClusterJson.Options))!;
    }

    private static HeartbeatRequest Request() => new(new ResourceUsage(0, 0, 0), new Resources(4000, 4L << 30, 10L << 30), ["process"], []);
}
