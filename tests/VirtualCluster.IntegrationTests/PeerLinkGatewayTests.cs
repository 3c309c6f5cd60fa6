using System.Net.WebSockets;
using System.Text;
using VirtualCluster.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// Peer links end to end with real processes on loopback: a gateway and agents, requests carried in WebRTC data
/// channels (ICE + DTLS + SCTP), the tunnel as the fallback, and the link coming back after the agent restarts.
/// </summary>
public sealed class PeerLinkGatewayTests(ITestOutputHelper output)
{
    // Everything runs on one machine: loopback candidates let ICE pair even where loopback is the only interface.
    private static readonly string[] Loopback = ["--p2p-loopback"];

    [Fact]
    public async Task Requests_downloads_and_websockets_travel_over_a_direct_data_channel_not_the_tunnel()
    {
        await using var stack = await GatewayStack.StartAsync(agents: 1, _ => Loopback, Loopback);
        await WithDiagnostics(stack, async () =>
        {
            var view = await stack.DeployHelloAsync("web", replicas: 1);
            var node = view.Instances.Single().Instance.NodeId;
            var link = await stack.WaitLinkAsync(node, l => l.State == "connected", "the peer link to the node");
            Assert.Equal("direct", link.Path);
            using var client = new GatewayClient(stack.Port, TimeSpan.FromSeconds(60));
            // The deploy helper's readiness request may have gone through the tunnel (the link was not up yet), and
            // the gateway keeps such connections alive; once the link is connected, the very first request and every
            // one after must go over it (the proxy pools connections per path).
            var tunnelDialsBefore = link.TunnelDials;
            output.WriteLine($"link when connected: {link}");
            var (firstStatus, firstBody) = await client.GetAsync("web");
            Assert.True(firstStatus == 200, $"GET web: {firstStatus} {firstBody}");
            var first = (await stack.LinksAsync()).Single(l => l.Node == node);
            Assert.True(first.Dials >= 1 && first.BytesReceived > link.BytesReceived,
                $"the first request after the link connected should have gone over it, got {first} (before: {link})");
            Assert.Equal(tunnelDialsBefore, first.TunnelDials);
            for (var i = 0; i < 5; i++)
            {
                var (status, body) = await client.GetAsync("web");
                Assert.True(status == 200, $"GET web: {status} {body}");
                Assert.StartsWith("hello from web-", body);
            }

            // 20 MiB, checked byte by byte.
            const long size = 20L * 1024 * 1024;
            using (var response = await client.Http.GetAsync(client.Url("web", $"/bytes/{size}"), HttpCompletionOption.ResponseHeadersRead))
            {
                Assert.Equal(200, (int)response.StatusCode);
                await using var body = await response.Content.ReadAsStreamAsync();
                var buffer = new byte[81920];
                long total = 0;
                int n;
                while ((n = await body.ReadAsync(buffer)) > 0)
                {
                    for (var i = 0; i < n; i++)
                        if (buffer[i] != (byte)((total + i) % 251)) Assert.Fail($"byte {total + i} is {buffer[i]}, expected {(total + i) % 251}");
                    total += n;
                }
                Assert.Equal(size, total);
            }

            using (var socket = new ClientWebSocket())
            {
                using var invoker = new HttpMessageInvoker(client.Handler, disposeHandler: false);
                await socket.ConnectAsync(new Uri($"ws://web.localhost:{stack.Port}/ws"), invoker, CancellationToken.None);
                for (var i = 0; i < 3; i++)
                {
                    var text = $"echo {i} " + new string('x', 20_000 * i);
                    await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);
                    Assert.Equal(text, await ReceiveTextAsync(socket));
                }
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
            }

            var after = (await stack.LinksAsync()).Single(l => l.Node == node);
            output.WriteLine($"link after: {after}");
            // Positive control that the bytes went over the data channels: the link's dial counter moved and its bytes
            // cover the download, while the tunnel (connected all along) opened nothing.
            Assert.Equal("direct", after.Path);
            Assert.True(after.Dials >= 1, $"expected connections over the peer link, got {after}");
            Assert.True(after.BytesReceived >= size, $"expected the download over the link, got {after}");
            Assert.Equal(tunnelDialsBefore, after.TunnelDials);
            Assert.Contains(node, await stack.TunnelsAsync());
        });
    }

    [Fact]
    public async Task An_agent_with_p2p_off_is_reached_through_its_tunnel()
    {
        await using var stack = await GatewayStack.StartAsync(agents: 1, _ => ["--p2p", "off", .. Loopback], Loopback);
        await WithDiagnostics(stack, async () =>
        {
            var view = await stack.DeployHelloAsync("web", replicas: 1);
            var node = view.Instances.Single().Instance.NodeId;
            using var client = new GatewayClient(stack.Port, TimeSpan.FromSeconds(30));
            await Wait.UntilAsync(async () => (await client.GetAsync("web")).Status == 200, TimeSpan.FromSeconds(30), "the stable URL to answer");
            var (status, body) = await client.GetAsync("web");
            Assert.Equal(200, status);
            Assert.StartsWith("hello from web-", body);
            var link = (await stack.LinksAsync()).Single(l => l.Node == node);
            output.WriteLine($"link: {link}");
            Assert.Equal("tunnel", link.Path);
            Assert.Equal("off", link.State);
            Assert.Equal(0, link.Dials);
            Assert.True(link.TunnelDials >= 1, $"expected the tunnel to carry the requests, got {link}");
        });
    }

    [Fact]
    public async Task When_no_udp_path_exists_the_link_fails_with_a_reason_and_the_tunnel_carries_the_requests()
    {
        // Relay-only on the agent with no TURN server in the cluster: the agent has no candidate at all, as when UDP is blocked.
        await using var stack = await GatewayStack.StartAsync(agents: 1, _ => ["--ice-transport-policy", "relay", .. Loopback], Loopback);
        await WithDiagnostics(stack, async () =>
        {
            var view = await stack.DeployHelloAsync("web", replicas: 1);
            var node = view.Instances.Single().Instance.NodeId;
            var failed = await stack.WaitLinkAsync(node, l => l.State == "failed" && l.LastError is not null, "the link attempt to fail", TimeSpan.FromSeconds(90));
            output.WriteLine($"link: {failed}");
            Assert.Equal("tunnel", failed.Path);
            using var client = new GatewayClient(stack.Port, TimeSpan.FromSeconds(30));
            var (status, body) = await client.GetAsync("web");
            Assert.True(status == 200, $"GET web: {status} {body}");
            var after = (await stack.LinksAsync()).Single(l => l.Node == node);
            Assert.Equal(0, after.Dials);
            Assert.True(after.TunnelDials >= 1, $"expected the tunnel to carry the request, got {after}");
        });
    }

    [Fact]
    public async Task The_link_is_established_again_after_the_agent_restarts()
    {
        await using var stack = await GatewayStack.StartAsync(agents: 1, _ => Loopback, Loopback);
        await WithDiagnostics(stack, async () =>
        {
            var view = await stack.DeployHelloAsync("web", replicas: 1);
            var node = view.Instances.Single().Instance.NodeId;
            var first = await stack.WaitLinkAsync(node, l => l.State == "connected", "the first link");
            var name = view.Instances.Single().NodeName;
            await stack.Cluster.KillAgentAsync(name);
            stack.Cluster.RestartAgent(name);
            var second = await stack.WaitLinkAsync(node, l => l.State == "connected" && l.Since > first.Since, "a new link after the restart", TimeSpan.FromSeconds(90));
            Assert.Equal("direct", second.Path);
            using var client = new GatewayClient(stack.Port, TimeSpan.FromSeconds(30));
            await Wait.UntilAsync(async () => (await client.GetAsync("web")).Status == 200, TimeSpan.FromSeconds(60), "the stable URL to answer after the restart");
            var after = (await stack.LinksAsync()).Single(l => l.Node == node);
            Assert.True(after.Dials > 0, $"expected the request over the new link, got {after}");
        });
    }

    private static async Task<string> ReceiveTextAsync(ClientWebSocket socket)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, CancellationToken.None);
            message.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);
        return Encoding.UTF8.GetString(message.ToArray());
    }

    private async Task WithDiagnostics(GatewayStack stack, Func<Task> body)
    {
        try
        {
            await stack.Cluster.WithDiagnosticsAsync(output, body);
        }
        catch
        {
            output.WriteLine(stack.Diagnostics());
            throw;
        }
    }
}
