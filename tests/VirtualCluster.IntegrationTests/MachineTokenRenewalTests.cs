using System.Net.Http.Json;
using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// A real agent with a short-lived machine token (10 s, renewed from 5 s on, so only a heartbeat stall of 5 s on a loaded
/// machine could let it expire): it keeps working well past the first token's expiry because
/// heartbeats hand it fresh ones, which it saves in agent.json; the first token, copied, stops working.
/// </summary>
public sealed class MachineTokenRenewalTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task An_agent_outlives_its_first_machine_token()
    {
        await using var cluster = await ManualCluster.StartAsync(agents: 1, controlPlaneArgs: ["--machine-token-lifetime", "10"]);
        await cluster.WithDiagnosticsAsync(output, async () =>
        {
            // The control plane counts the node as joined a moment before the agent has saved its answer: wait for the file.
            var identity = Path.Combine(cluster.Directory, "node-1", "agent.json");
            await Wait.UntilAsync(() => Task.FromResult(File.Exists(identity)), TimeSpan.FromSeconds(30), "the agent to save agent.json");
            var firstToken = TokenIn(identity);
            using var api = cluster.Api();
            var first = await IntrospectAsync(api, firstToken);
            Assert.True(first.Active, first.Error); // positive control: the copy worked once
            await Wait.UntilAsync(async () => !(await IntrospectAsync(api, firstToken)).Active, TimeSpan.FromSeconds(60), "the first machine token to expire");
            Assert.Contains("expired", (await IntrospectAsync(api, firstToken)).Error, StringComparison.Ordinal);

            // Meanwhile the agent swapped tokens and its node never stopped being alive.
            var current = TokenIn(identity);
            Assert.NotEqual(firstToken, current);
            Assert.True((await IntrospectAsync(api, current)).Active);
            var node = Assert.Single((await api.StatusAsync()).Nodes).Node;
            Assert.Equal(NodeState.Alive, node.State);
            Assert.DoesNotContain(await cluster.EventsAsync(), e => e.Kind == EventKinds.NodeRejoined);
        });
    }

    private static string TokenIn(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return JsonDocument.Parse(stream).RootElement.GetProperty("token").GetString()!;
    }

    private static async Task<TokenIntrospection> IntrospectAsync(ApiClient api, string token)
    {
        using var response = await api.Http.PostAsJsonAsync("/v1/tokens/introspect", new { token }, VirtualClusterJson.Options);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<TokenIntrospection>(VirtualClusterJson.Options))!;
    }
}
