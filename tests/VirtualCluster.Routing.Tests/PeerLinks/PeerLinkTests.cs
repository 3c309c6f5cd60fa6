using System.Security.Cryptography;
using VirtualCluster.Routing.Tunnel;

namespace VirtualCluster.Routing.Tests.PeerLinks;

/// <summary>Gateway and agent sides of peer links over a real hub and real loopback UDP: data, refusals, reconnects.</summary>
public sealed class PeerLinkTests
{
    [Fact]
    public async Task A_connection_crosses_a_direct_link_both_ways_intact_and_is_counted()
    {
        await using var rig = await LinkRig.StartAsync();
        await rig.StartAgentAsync();
        var up = await rig.WaitLinkAsync("node-a", s => s.State == "connected", "the link to come up");
        Assert.Equal("direct", up.Path);

        var payload = RandomNumberGenerator.GetBytes(3 * 1024 * 1024);
        await using (var stream = await rig.Links.DialAsync("node-a", rig.EchoPort).AsTask().WaitAsync(LinkRig.Deadline))
        {
            var echoed = new byte[payload.Length];
            var reader = Task.Run(async () =>
            {
                var read = 0;
                while (read < echoed.Length)
                {
                    var n = await stream.ReadAsync(echoed.AsMemory(read));
                    Assert.NotEqual(0, n);
                    read += n;
                }
            });
            await stream.WriteAsync(payload);
            await reader.WaitAsync(LinkRig.Deadline);
            Assert.Equal(payload, echoed);
        }
        var after = rig.Links.Links.Single(l => l.Node == "node-a");
        Assert.Equal(1, after.Dials);
        Assert.True(after.BytesSent >= payload.Length && after.BytesReceived >= payload.Length, after.ToString());
        Assert.NotNull(after.RttMs);
    }

    [Fact]
    public async Task Ports_that_are_not_instance_ports_or_have_no_listener_are_refused_with_the_reason()
    {
        await using var rig = await LinkRig.StartAsync();
        await rig.StartAgentAsync();
        await rig.WaitLinkAsync("node-a", s => s.State == "connected", "the link to come up");

        var notAllowed = await Assert.ThrowsAsync<TunnelRefusedException>(() => rig.Links.DialAsync("node-a", 22).AsTask().WaitAsync(LinkRig.Deadline));
        Assert.Contains("port 22 is not a port of an instance", notAllowed.Message);

        var closedPort = FreeClosedPort();
        rig.AllowedPorts.Add(closedPort);
        var nothing = await Assert.ThrowsAsync<TunnelRefusedException>(() => rig.Links.DialAsync("node-a", closedPort).AsTask().WaitAsync(LinkRig.Deadline));
        Assert.Contains($"nothing answers on 127.0.0.1:{closedPort}", nothing.Message);

        // Positive control: the same link still carries an allowed connection.
        await using var ok = await rig.Links.DialAsync("node-a", rig.EchoPort).AsTask().WaitAsync(LinkRig.Deadline);
        await ok.WriteAsync("ping"u8.ToArray());
        var buffer = new byte[4];
        await ok.ReadExactlyAsync(buffer).AsTask().WaitAsync(LinkRig.Deadline);
        Assert.Equal("ping"u8.ToArray(), buffer);
    }

    [Fact]
    public async Task The_link_comes_back_after_the_agent_restarts()
    {
        await using var rig = await LinkRig.StartAsync();
        await rig.StartAgentAsync();
        var first = await rig.WaitLinkAsync("node-a", s => s.State == "connected", "the first link");
        await rig.StopAgentAsync();
        await rig.WaitLinkAsync("node-a", s => s.State != "connected", "the gateway to notice the agent is gone");
        await rig.StartAgentAsync();
        var second = await rig.WaitLinkAsync("node-a", s => s.State == "connected", "the link to come back");
        Assert.True(second.Since > first.Since);
        await using var stream = await rig.Links.DialAsync("node-a", rig.EchoPort).AsTask().WaitAsync(LinkRig.Deadline);
        await stream.WriteAsync("again"u8.ToArray());
        var buffer = new byte[5];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(LinkRig.Deadline);
        Assert.Equal("again"u8.ToArray(), buffer);
    }

    [Fact]
    public async Task A_node_that_leaves_the_hub_is_not_dialled_over_its_link_and_gets_a_fresh_link_when_it_returns()
    {
        await using var rig = await LinkRig.StartAsync();
        await rig.StartAgentAsync(track: false);
        rig.Links.Track([KeyValuePair.Create("node-a", 1L)]);
        var first = await rig.WaitLinkAsync("node-a", s => s.State == "connected", "the first link");
        Assert.True(rig.Links.IsConnected("node-a"));

        // Gone from the hub (as after kill -9): the link may be dead without knowing it, so it is closed at once.
        rig.Links.Track(Array.Empty<string>());
        Assert.False(rig.Links.IsConnected("node-a"));
        await Assert.ThrowsAsync<IOException>(() => rig.Links.DialAsync("node-a", rig.EchoPort).AsTask());
        var closed = await rig.WaitLinkAsync("node-a", s => s.State == "failed", "the link to be closed");
        Assert.Contains("left the signaling hub", closed.LastError);

        // Back with a new signaling connection: a fresh link replaces the old one.
        rig.Links.Track([KeyValuePair.Create("node-a", 2L)]);
        var second = await rig.WaitLinkAsync("node-a", s => s.State == "connected" && s.Since > first.Since, "a fresh link after the return");
        Assert.True(rig.Links.IsConnected("node-a"));
        Assert.Equal("direct", second.Path);
        await using var stream = await rig.Links.DialAsync("node-a", rig.EchoPort).AsTask().WaitAsync(LinkRig.Deadline);
        await stream.WriteAsync("back"u8.ToArray());
        var buffer = new byte[4];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(LinkRig.Deadline);
        Assert.Equal("back"u8.ToArray(), buffer);
    }

    private static int FreeClosedPort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
