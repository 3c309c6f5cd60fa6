using System.Net;
using System.Net.Sockets;
using VirtualCluster.Routing.BrowserDirect;
using VirtualCluster.Routing.PeerLinks;
using VirtualCluster.Routing.Signaling;
using VirtualCluster.Routing.Tunnel;

namespace VirtualCluster.Routing.Tests.PeerLinks;

/// <summary>
/// The agent's side of the browser-direct path: a peer a gateway relays for a browser (named
/// <c>gateway:&lt;gw&gt;/browser/&lt;service&gt;/&lt;id&gt;</c>) gets channels to that service's ports only. The browser is
/// played by an in-process participant with that name and a real peer connection over loopback UDP.
/// </summary>
public sealed class BrowserPeerTests
{
    [Theory]
    [InlineData("gateway:edge-1/browser/web/abc", "web")]
    [InlineData("gateway:gw/browser/my-app/0123456789abcdef", "my-app")]
    public void A_browser_peer_name_names_its_service(string peer, string service)
    {
        Assert.True(BrowserPeerName.TryParse(peer, out var parsed));
        Assert.Equal(service, parsed);
        Assert.True(BrowserPeerName.TryParse(BrowserPeerName.For("gw", service, "x1"), out parsed));
        Assert.Equal(service, parsed);
    }

    [Theory]
    [InlineData("gateway:gw")]
    [InlineData("node-a/browser/web/abc")] // not a gateway's in-process name: anyone could claim it
    [InlineData("gateway:gw/browser//abc")]
    [InlineData("gateway:gw/browser/web/")]
    [InlineData("gateway:gw/browser/web")]
    public void Other_names_are_not_browser_peers(string peer) => Assert.False(BrowserPeerName.TryParse(peer, out _));

    [Fact]
    public async Task A_browser_peer_reaches_the_ports_of_its_service_and_no_other()
    {
        await using var rig = await LinkRig.StartAsync();
        rig.BrowserServicePorts = (service, port) => service == "web" && port == rig.EchoPort;
        var gatewayOnly = FreeClosedPort();
        rig.AllowedPorts.Add(gatewayOnly); // an instance port of this node, but not one of "web"
        await rig.StartAgentAsync(track: false);

        await using var browser = rig.Host.Hub.AttachLocal(new SignalingIdentity("alpha", BrowserPeerName.For("gw", "web", "b1")));
        await using var links = new PeerLinkManager(browser, () => rig.Options, LinkRig.Loggers, TimeProvider.System);
        links.Track(["node-a"]);
        await WaitConnectedAsync(links);

        await using (var stream = await links.DialAsync("node-a", rig.EchoPort).AsTask().WaitAsync(LinkRig.Deadline))
        {
            await stream.WriteAsync("to web"u8.ToArray());
            var buffer = new byte[6];
            await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(LinkRig.Deadline);
            Assert.Equal("to web"u8.ToArray(), buffer);
        }
        var refused = await Assert.ThrowsAsync<TunnelRefusedException>(() => links.DialAsync("node-a", gatewayOnly).AsTask().WaitAsync(LinkRig.Deadline));
        Assert.Contains($"port {gatewayOnly} is not a port of an instance of \"web\"", refused.Message);

        // A browser signaled for another service gets nothing of "web", though the port is the same.
        await using var intruder = rig.Host.Hub.AttachLocal(new SignalingIdentity("alpha", BrowserPeerName.For("gw", "admin", "b2")));
        await using var intruderLinks = new PeerLinkManager(intruder, () => rig.Options, LinkRig.Loggers, TimeProvider.System);
        intruderLinks.Track(["node-a"]);
        await WaitConnectedAsync(intruderLinks);
        var other = await Assert.ThrowsAsync<TunnelRefusedException>(() => intruderLinks.DialAsync("node-a", rig.EchoPort).AsTask().WaitAsync(LinkRig.Deadline));
        Assert.Contains("an instance of \"admin\"", other.Message);

        // The gateway's own link still reaches every instance port of the node.
        rig.Links.Track(["node-a"]);
        await rig.WaitLinkAsync("node-a", s => s.State == "connected", "the gateway's link");
        await using var gateway = await rig.Links.DialAsync("node-a", rig.EchoPort).AsTask().WaitAsync(LinkRig.Deadline);
    }

    private static async Task WaitConnectedAsync(PeerLinkManager links)
    {
        var deadline = DateTime.UtcNow + LinkRig.Deadline;
        while (!links.IsConnected("node-a"))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the browser's link did not come up: {links.Links.FirstOrDefault()}");
            await Task.Delay(50);
        }
    }

    private static int FreeClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
