using System.Net.WebSockets;
using System.Text;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.PeerConnections;
using VirtualCluster.P2P.Signaling;
using VirtualCluster.Routing.Signaling;

namespace VirtualCluster.Routing.Tests.PeerLinks;

/// <summary>What a hostile or broken peer can send the agent's acceptor: it refuses with a reason and keeps serving.</summary>
public sealed class PeerLinkHostileTests
{
    [Theory]
    [InlineData("tcp/99999")]
    [InlineData("tcp/abc")]
    [InlineData("tcp/")]
    [InlineData("tcp/0")]
    [InlineData("tcp/-80")]
    [InlineData("udp/53")]
    [InlineData("")]
    public async Task Channel_labels_that_are_not_tcp_ports_are_refused_and_the_link_keeps_working(string label)
    {
        await using var rig = await LinkRig.StartAsync();
        await rig.StartAgentAsync();
        await rig.WaitLinkAsync("node-a", s => s.State == "connected", "the link to come up");
        var connection = rig.Links.ConnectionTo("node-a")!;

        var (channel, first) = OpenWatched(connection, label);
        var answer = await first;
        Assert.StartsWith("refused: channel label", answer);
        Assert.Contains("is not tcp/<port>", answer);
        await channel.Completion.WaitAsync(LinkRig.Deadline);

        // Unreliable channels cannot carry a byte stream.
        var (_, unorderedFirst) = OpenWatched(connection, $"tcp/{rig.EchoPort}", new DataChannelInit { Ordered = false });
        Assert.Equal("refused: a proxied connection needs a reliable, ordered channel", await unorderedFirst);

        await AssertEchoAsync(rig);
    }

    [Fact]
    public async Task Garbage_offers_and_stray_messages_are_dropped_and_a_real_offer_is_still_answered()
    {
        await using var rig = await LinkRig.StartAsync();
        await rig.StartAgentAsync(track: false);
        SignalingMessage[] garbage =
        [
            new OfferMessage("u", "p") { Sdp = "garbage", Session = "s1" },
            new OfferMessage("u", "p") { Sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n", Session = "s2" },
            new OfferMessage("u", "p") { Session = "s3" },
            new OfferMessage("u", "p") { Sdp = "v=0\r\n" },
            new OfferMessage("u", "p") { Sdp = "v=0\r\n", Session = new string('x', 200) },
            new CandidateMessage("candidate:1 1 udp 1 127.0.0.1 9 typ host") { Session = "nobody" },
            new AnswerMessage("u", "p") { Sdp = "v=0\r\n", Session = "s1" },
            new EndOfCandidatesMessage { Session = "s1" },
        ];
        foreach (var message in garbage) await rig.Gateway.SendAsync("node-a", message);

        // Positive control: the same acceptor answers a real offer afterwards, and the link carries data.
        rig.Links.Track(["node-a"]);
        await rig.WaitLinkAsync("node-a", s => s.State == "connected", "a link after the garbage");
        await AssertEchoAsync(rig);
    }

    [Fact]
    public async Task Offers_from_a_peer_that_is_not_a_gateway_get_no_answer()
    {
        await using var rig = await LinkRig.StartAsync();
        await rig.StartAgentAsync(track: false);
        await using var intruder = rig.Host.Client("alpha", "node-b");
        intruder.Start();
        await intruder.WaitConnectedAsync().WaitAsync(LinkRig.Deadline);
        await using var probe = rig.Host.Hub.AttachLocal(new SignalingIdentity("alpha", "gateway:probe"));

        await using var intruderOffer = new PeerConnection(new PeerConnectionOptions { Ice = new IceAgentOptions { IncludeLoopback = true } });
        var offer = await intruderOffer.CreateOfferAsync();
        await intruder.SendAsync("node-a", new OfferMessage("u", "p") { Sdp = offer.Sdp, Session = "intruder" });
        // When the probe hears from the intruder, the hub has already queued the intruder's offer for node-a: the
        // agent reads it before the probe's offer below.
        await intruder.SendAsync("gateway:probe", new EndOfCandidatesMessage { Session = "marker" });
        Assert.NotNull(await probe.ChannelTo("node-b").ReceiveAsync().AsTask().WaitAsync(LinkRig.Deadline));

        await using var probeOffer = new PeerConnection(new PeerConnectionOptions { Ice = new IceAgentOptions { IncludeLoopback = true } });
        var real = await probeOffer.CreateOfferAsync();
        await probe.SendAsync("node-a", new OfferMessage("u", "p") { Sdp = real.Sdp, Session = "probe" });
        // Positive control: a gateway's offer is answered.
        var fromAgent = probe.ChannelTo("node-a");
        SignalingMessage? reply;
        do reply = await fromAgent.ReceiveAsync().AsTask().WaitAsync(LinkRig.Deadline);
        while (reply is not AnswerMessage);
        Assert.Equal("probe", reply.Session);

        // The intruder's offer was read first and ignored: nothing came back for it.
        using var quiet = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => intruder.ChannelTo("node-a").ReceiveAsync(quiet.Token).AsTask());
    }

    [Fact]
    public async Task A_websocket_peer_cannot_take_a_gateway_name_on_the_hub()
    {
        await using var rig = await LinkRig.StartAsync();
        var refused = await Assert.ThrowsAsync<WebSocketException>(() => rig.Host.RawAsync(rig.Host.Token("alpha", "gateway:gw2")));
        Assert.Contains("403", refused.Message);
        // Positive control: the same kind of token with an agent's name connects.
        using var ok = await rig.Host.RawAsync(rig.Host.Token("alpha", "node-c"));
        Assert.Equal(WebSocketState.Open, ok.State);
    }

    [Fact]
    public async Task Without_any_usable_candidate_the_link_fails_with_a_reason_and_dials_fail_fast()
    {
        await using var rig = await LinkRig.StartAsync();
        // Relay-only with no TURN server: no candidate at all, as when UDP is unusable.
        rig.Options.TransportPolicy = IceTransportPolicy.Relay;
        rig.Options.ConnectTimeout = TimeSpan.FromSeconds(3);
        await rig.StartAgentAsync();
        var failed = await rig.WaitLinkAsync("node-a", s => s.State == "failed" && s.LastError is not null, "the link attempt to fail");
        Assert.Null(failed.Path);
        Assert.False(rig.Links.IsConnected("node-a"));
        await Assert.ThrowsAsync<IOException>(() => rig.Links.DialAsync("node-a", rig.EchoPort).AsTask());
    }

    /// <summary>Opens a channel with its handlers attached before the open goes out (the answer cannot slip past them).</summary>
    private static (DataChannel Channel, Task<string> First) OpenWatched(PeerConnection connection, string label, DataChannelInit? init = null)
    {
        var first = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var channel = connection.CreateDataChannel(label, init, c =>
        {
            c.MessageReceived += (_, data, _) => first.TrySetResult(Encoding.UTF8.GetString(data));
            c.Closed += (_, reason) => first.TrySetResult($"(closed without a message: {reason})");
        });
        return (channel, first.Task.WaitAsync(LinkRig.Deadline));
    }

    private static async Task AssertEchoAsync(LinkRig rig)
    {
        await using var stream = await rig.Links.DialAsync("node-a", rig.EchoPort).AsTask().WaitAsync(LinkRig.Deadline);
        await stream.WriteAsync("still here"u8.ToArray());
        var buffer = new byte[10];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(LinkRig.Deadline);
        Assert.Equal("still here"u8.ToArray(), buffer);
    }
}
