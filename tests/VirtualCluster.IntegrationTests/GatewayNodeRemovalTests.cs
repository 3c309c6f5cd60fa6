using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;
using VirtualCluster.Security.Tls;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// `vcluster nodes rm` takes effect at a standalone gateway within seconds (real control-plane, gateway and agent
/// processes): the removed node's open tunnel and signaling connections are closed by the gateway, and its token,
/// which the gateway had accepted and cached moments before, is refused on the next attempt.
/// </summary>
public sealed class GatewayNodeRemovalTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_removed_nodes_open_tunnel_and_signaling_are_closed_and_its_token_refused()
    {
        await using var stack = await GatewayStack.StartAsync(agents: 1, _ => ["--p2p", "off"], ["--p2p", "off"]);
        try
        {
            // A node joined by hand (no agent that would stop on its own when removed): only the gateway can close what it opens.
            var joinToken = File.ReadAllText(Path.Combine(stack.Cluster.Directory, "cp", "join.token")).Trim();
            using var http = new HttpClient(TestTls.Handler(stack.Cluster.Url));
            using var joined = await http.PostAsJsonAsync(stack.Cluster.Url + "/v1/join",
                new JoinRequest(joinToken, "ghost", "127.0.0.1", new Resources(1000, 1L << 30, 1L << 30), ["process"], new PortRange(21000, 21099), null),
                VirtualClusterJson.Options);
            Assert.True(joined.IsSuccessStatusCode, await joined.Content.ReadAsStringAsync());
            var ghost = (await joined.Content.ReadFromJsonAsync<JoinResponse>(VirtualClusterJson.Options))!;

            var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(stack.Cluster.Directory, "cp", "ca.crt"));
            var validator = PinnedCaValidator.ForCertificate(ca);
            using var tunnel = await ConnectAsync(stack.Port, "/v1/tunnel", ghost.Token, validator);
            // This raw tunnel answers no pings: the gateway would drop it on its own after TunnelOptions.IdleTimeout (30 s).
            var tunnelOpened = System.Diagnostics.Stopwatch.StartNew();
            using var signaling = await ConnectAsync(stack.Port, "/v1/signaling", ghost.Token, validator);
            await Wait.UntilAsync(async () => (await stack.TunnelsAsync()).Contains(ghost.NodeId), TimeSpan.FromSeconds(10), "the ghost's tunnel at the gateway");
            // Positive control for the cached check: a second connection with the same token is accepted before the removal.
            using (var again = await ConnectAsync(stack.Port, "/v1/signaling", ghost.Token, validator))
                Assert.Equal(WebSocketState.Open, again.State);
            using var signalingNow = await ConnectAsync(stack.Port, "/v1/signaling", ghost.Token, validator);

            using var api = stack.Cluster.Api();
            using (var removed = await api.Http.DeleteAsync("/v1/nodes/ghost"))
                Assert.True(removed.IsSuccessStatusCode, await removed.Content.ReadAsStringAsync());

            // The gateway closes both: the tunnel leaves its table, and reads on the sockets end.
            await Wait.UntilAsync(async () => !(await stack.TunnelsAsync()).Contains(ghost.NodeId), TimeSpan.FromSeconds(10), "the ghost's tunnel closed by the gateway");
            await Wait.UntilAsync(() => Task.FromResult(Ended(tunnel) && Ended(signalingNow)), TimeSpan.FromSeconds(15), "both sockets closed by the gateway");
            Assert.True(tunnelOpened.Elapsed < TimeSpan.FromSeconds(25), $"the tunnel closed {tunnelOpened.Elapsed} after it opened: that may be the idle timeout, not the removal");
            await stack.Gateway.WaitForOutputAsync("Node ghost (" + ghost.NodeId + ") has left the cluster or was removed: closed its connections", TimeSpan.FromSeconds(10));

            // The token the gateway had cached is refused now (the control plane revoked it; the gateway forgot its answer).
            var refused = await Assert.ThrowsAsync<WebSocketException>(() => ConnectAsync(stack.Port, "/v1/tunnel", ghost.Token, validator));
            Assert.Contains("401", refused.Message);
            // The agent that was not removed keeps its tunnel.
            Assert.Equal(["node-1"], (await stack.TunnelsAsync()).Select(id => NodeName(stack, id)).ToList());
        }
        catch
        {
            output.WriteLine(stack.Diagnostics());
            throw;
        }
    }

    /// <summary>True once the server has closed the socket: a receive sees the close or the connection's end.</summary>
    private static bool Ended(ClientWebSocket socket) => socket.State is not WebSocketState.Open;

    private static string NodeName(GatewayStack stack, string id)
    {
        using var api = stack.Cluster.Api();
        var nodes = api.Http.GetFromJsonAsync<NodeView[]>("/v1/nodes", VirtualClusterJson.Options).GetAwaiter().GetResult();
        return nodes!.Single(n => n.Node.Id == id).Node.Name;
    }

    private static async Task<ClientWebSocket> ConnectAsync(int port, string path, string token, PinnedCaValidator validator)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        socket.Options.RemoteCertificateValidationCallback = validator.Validate;
        try
        {
            await socket.ConnectAsync(new Uri($"wss://127.0.0.1:{port}{path}"), CancellationToken.None);
            // Keep a receive pending, so the client notices the server's close frame or the dropped connection.
            _ = Drain(socket);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task Drain(ClientWebSocket socket)
    {
        var buffer = new byte[4096];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close) return;
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The server dropped the connection: State is Aborted now.
        }
    }
}
