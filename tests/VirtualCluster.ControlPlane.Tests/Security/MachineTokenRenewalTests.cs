using System.Net;
using System.Net.Http.Json;
using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Tests.Security;

/// <summary>Machine tokens expire, and a heartbeat past half of one's lifetime answers with a fresh one for the same node.</summary>
public sealed class MachineTokenRenewalTests : IAsyncLifetime
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(4);
    private ApiSecurityHost host = null!;

    public async Task InitializeAsync() => host = await ApiSecurityHost.StartAsync(o => o.MachineTokenLifetime = Lifetime);

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task A_heartbeat_after_half_the_lifetime_gets_a_fresh_token_and_the_old_one_then_expires()
    {
        var first = (await host.Tokens.ValidateAsync(host.MachineToken)).Principal!;
        Assert.NotNull(first.ExpiresAt);
        Assert.InRange(first.ExpiresAt!.Value - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(1), Lifetime);

        // Positive and negative controls in one: early heartbeats get nothing new, and one does once half has passed.
        string? renewed = null;
        var early = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (renewed is null && DateTime.UtcNow < deadline)
        {
            var sentAt = DateTimeOffset.UtcNow;
            var answer = await Beat(host.MachineToken);
            if (answer.RenewedToken is { } token) renewed = token;
            else if (first.ExpiresAt!.Value - sentAt > Lifetime / 2 + TimeSpan.FromMilliseconds(200)) early++;
            await Task.Delay(100);
        }
        Assert.NotNull(renewed);
        Assert.True(early > 0, "a heartbeat early in the token's life got no new token");
        var second = (await host.Tokens.ValidateAsync(renewed)).Principal!;
        Assert.Equal((first.Subject, first.Role, first.MachineGeneration), (second.Subject, second.Role, second.MachineGeneration));
        Assert.True(second.ExpiresAt > first.ExpiresAt);

        // The old token runs out; the new one goes on working.
        while (DateTimeOffset.UtcNow < first.ExpiresAt!.Value.AddMilliseconds(100)) await Task.Delay(100);
        using (var old = await host.Client(host.MachineToken).PostAsJsonAsync($"v1/nodes/{host.NodeId}/heartbeat", Request(), VirtualClusterJson.Options))
            Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        Assert.NotNull(await Beat(renewed!));
    }

    private async Task<HeartbeatResponse> Beat(string token)
    {
        using var response = await host.Client(token).PostAsJsonAsync($"v1/nodes/{host.NodeId}/heartbeat", Request(), VirtualClusterJson.Options);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<HeartbeatResponse>(VirtualClusterJson.Options))!;
    }

    private static HeartbeatRequest Request() => new(new ResourceUsage(0, 0, 0), new Resources(4000, 4L << 30, 10L << 30), ["process"], []);
}
