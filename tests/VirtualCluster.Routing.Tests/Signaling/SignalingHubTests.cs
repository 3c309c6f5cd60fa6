using System.Net;
using System.Net.WebSockets;
using VirtualCluster.P2P.Signaling;
using VirtualCluster.Routing.Signaling;
using VirtualCluster.Security;

namespace VirtualCluster.Routing.Tests.Signaling;

/// <summary>The hub on real Kestrel, reached with real ClientWebSockets (through <see cref="SignalingClient"/> or raw).</summary>
public sealed class SignalingHubTests
{
    private static async Task<T> Within<T>(Task<T> task) => await task.WaitAsync(Raw.Deadline);

    private static async Task<SignalingMessage?> Within(ValueTask<SignalingMessage?> task) => await task.AsTask().WaitAsync(Raw.Deadline);

    [Fact]
    public async Task Relays_offer_answer_and_candidates_between_two_peers_named_by_their_tokens()
    {
        await using var host = await HubHost.StartAsync();
        await using var a = host.Client("alpha", "node-a");
        await using var b = host.Client("alpha", "node-b");
        a.Start();
        b.Start();
        await a.WaitConnectedAsync().WaitAsync(Raw.Deadline);
        await b.WaitConnectedAsync().WaitAsync(Raw.Deadline);
        Assert.Equal(new SignalingIdentity("alpha", "node-a"), a.Identity);

        ISignalingChannel aToB = a.ChannelTo("node-b"), bToA = b.ChannelTo("node-a");
        SignalingMessage[] sent =
        [
            new OfferMessage("ufrag1", "pwd-0123456789abcdefghij"),
            new CandidateMessage("candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host"),
            new EndOfCandidatesMessage(),
        ];
        foreach (var message in sent) await aToB.SendAsync(message);
        foreach (var message in sent) Assert.Equal(message, await Within(bToA.ReceiveAsync()));

        await bToA.SendAsync(new AnswerMessage("ufrag2", "pwd-abcdefghij0123456789"));
        Assert.Equal(new AnswerMessage("ufrag2", "pwd-abcdefghij0123456789"), await Within(aToB.ReceiveAsync()));
    }

    [Fact]
    public async Task Never_relays_between_clusters_even_to_the_same_peer_name()
    {
        await using var host = await HubHost.StartAsync();
        using var alphaA = await host.RawAsync(host.Token("alpha", "a"));
        using var alphaB = await host.RawAsync(host.Token("alpha", "b"));
        using var betaB = await host.RawAsync(host.Token("beta", "b"));
        using var betaC = await host.RawAsync(host.Token("beta", "c"));
        foreach (var socket in new[] { alphaA, alphaB, betaB, betaC }) await socket.ExpectAsync("welcome");

        await alphaA.SendAsync(Raw.To("b"));
        Assert.Equal("a", (await alphaB.ExpectAsync("message")).From); // routed (to alpha's b) before the marker below is sent
        await betaC.SendAsync(Raw.To("b"));
        // Positive control: beta's b does receive beta's messages, and the first one is c's, not alpha's a's.
        Assert.Equal("c", (await betaB.ExpectAsync("message")).From);

        // Naming another cluster explicitly is refused, and the connection keeps working.
        await alphaA.SendAsync("""{"to":"c","cluster":"beta","message":{"type":"end-of-candidates"}}""");
        var refused = await alphaA.ExpectAsync("error", SignalingErrorCodes.WrongCluster);
        Assert.Equal("c", refused.To);
        await alphaA.SendAsync(Raw.To("c"));
        Assert.Contains("no peer \"c\"", (await alphaA.ExpectAsync("error", SignalingErrorCodes.UnknownPeer)).Detail);
        await alphaA.SendAsync(Raw.To("b"));
        Assert.Equal("a", (await alphaB.ExpectAsync("message")).From);
    }

    [Fact]
    public async Task Unknown_or_offline_peer_gets_an_error_back()
    {
        await using var host = await HubHost.StartAsync();
        await using var a = host.Client("alpha", "a");
        a.Start();
        await a.WaitConnectedAsync().WaitAsync(Raw.Deadline);

        await a.ChannelTo("ghost").SendAsync(new EndOfCandidatesMessage());

        var error = await a.Errors.ReadAsync().AsTask().WaitAsync(Raw.Deadline);
        Assert.Equal((SignalingErrorCodes.UnknownPeer, "ghost"), (error.Code, error.To));
    }

    [Theory]
    [InlineData("not json", SignalingErrorCodes.Malformed, "not valid JSON")]
    [InlineData("[1,2]", SignalingErrorCodes.Malformed, "JSON object")]
    [InlineData("""{"to":"b"}""", SignalingErrorCodes.Malformed, "\"message\" is missing")]
    [InlineData("""{"to":"b","message":{"type":"offer"}}""", SignalingErrorCodes.Malformed, "not a signaling message")]
    [InlineData("""{"to":"b","message":{"type":"bye"}}""", SignalingErrorCodes.Malformed, "not a signaling message")]
    [InlineData("""{"to":"b","from":"admin","message":{"type":"end-of-candidates"}}""", SignalingErrorCodes.Malformed, "field \"from\" is unknown")]
    [InlineData("""{"to":"","message":{"type":"end-of-candidates"}}""", SignalingErrorCodes.Malformed, "\"to\" must name a peer")]
    [InlineData("""{"to":"b","message":{"type":"candidate","candidate":{"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}}}}""", SignalingErrorCodes.Malformed, "")]
    public async Task Bad_frames_get_an_error_and_the_connection_survives(string frame, string code, string detail)
    {
        await using var host = await HubHost.StartAsync();
        using var a = await host.RawAsync(host.Token("alpha", "a"));
        using var b = await host.RawAsync(host.Token("alpha", "b"));
        await a.ExpectAsync("welcome");
        await b.ExpectAsync("welcome");

        await a.SendAsync(frame);
        Assert.Contains(detail, (await a.ExpectAsync("error", code)).Detail);

        await a.SendAsync(Raw.To("b"));
        Assert.Equal("a", (await b.ExpectAsync("message")).From);
    }

    [Fact]
    public async Task Oversized_and_binary_frames_are_refused_without_ending_the_connection()
    {
        await using var host = await HubHost.StartAsync(o => o.MaxMessageBytes = 1024);
        using var a = await host.RawAsync(host.Token("alpha", "a"));
        using var b = await host.RawAsync(host.Token("alpha", "b"));
        await a.ExpectAsync("welcome");
        await b.ExpectAsync("welcome");

        // Sent in several WebSocket fragments, as a streaming attacker would.
        var big = new byte[192 * 1024];
        for (var offset = 0; offset < big.Length; offset += 16 * 1024)
            await a.SendAsync(big.AsMemory(offset, 16 * 1024), WebSocketMessageType.Text, offset + 16 * 1024 >= big.Length, CancellationToken.None);
        Assert.Contains("larger than 1024 bytes", (await a.ExpectAsync("error", SignalingErrorCodes.TooLarge)).Detail);
        await a.SendAsync(new byte[] { 1, 2, 3 }, WebSocketMessageType.Binary, true, CancellationToken.None);
        Assert.Contains("binary", (await a.ExpectAsync("error", SignalingErrorCodes.Malformed)).Detail);
        // A frame of exactly the limit is accepted.
        var shortest = Raw.To("b", """{"type":"candidate","candidate":"candidate:"}""");
        var exact = shortest.Replace("candidate:", "candidate:" + new string('x', 1024 - shortest.Length), StringComparison.Ordinal);
        Assert.Equal(1024, exact.Length);
        await a.SendAsync(exact);
        Assert.Equal("a", (await b.ExpectAsync("message")).From);
    }

    [Fact]
    public async Task Repeat_offender_is_closed_with_policy_violation_while_others_keep_being_served()
    {
        await using var host = await HubHost.StartAsync(o => o.MaxStrikes = 3);
        using var bad = await host.RawAsync(host.Token("alpha", "bad"));
        using var a = await host.RawAsync(host.Token("alpha", "a"));
        using var b = await host.RawAsync(host.Token("alpha", "b"));
        foreach (var socket in new[] { bad, a, b }) await socket.ExpectAsync("welcome");

        for (var i = 0; i < 3; i++) await bad.SendAsync("{oops");
        for (var i = 0; i < 3; i++) await bad.ExpectAsync("error", SignalingErrorCodes.Malformed);
        Assert.Null(await bad.ReceiveFrameAsync());
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, bad.CloseStatus);

        await a.SendAsync(Raw.To("b"));
        Assert.Equal("a", (await b.ExpectAsync("message")).From);
    }

    [Fact]
    public async Task Rate_limit_refuses_past_the_burst_and_allows_again_after_refill()
    {
        await using var host = await HubHost.StartAsync(o =>
        {
            o.MessagesPerSecond = 1;
            o.Burst = 5;
        });
        using var a = await host.RawAsync(host.Token("alpha", "a"));
        using var b = await host.RawAsync(host.Token("alpha", "b"));
        await a.ExpectAsync("welcome");
        await b.ExpectAsync("welcome");

        // The hub's clock stands still, so exactly the burst passes.
        for (var i = 0; i < 8; i++) await a.SendAsync(Raw.To("b"));
        for (var i = 0; i < 5; i++) Assert.Equal("a", (await b.ExpectAsync("message")).From);
        for (var i = 0; i < 3; i++) Assert.Contains("slow down", (await a.ExpectAsync("error", SignalingErrorCodes.RateLimited)).Detail);

        host.Clock.Advance(TimeSpan.FromSeconds(2));
        await a.SendAsync(Raw.To("b"));
        await a.SendAsync(Raw.To("b"));
        await a.SendAsync(Raw.To("b"));
        Assert.Equal("a", (await b.ExpectAsync("message")).From);
        Assert.Equal("a", (await b.ExpectAsync("message")).From);
        await a.ExpectAsync("error", SignalingErrorCodes.RateLimited); // two tokens refilled, the third is refused
    }

    [Fact]
    public async Task Reconnecting_peer_replaces_its_old_connection()
    {
        await using var host = await HubHost.StartAsync();
        using var first = await host.RawAsync(host.Token("alpha", "b"));
        await first.ExpectAsync("welcome");
        using var second = await host.RawAsync(host.Token("alpha", "b"));
        await second.ExpectAsync("welcome");
        using var a = await host.RawAsync(host.Token("alpha", "a"));
        await a.ExpectAsync("welcome");

        Assert.Null(await first.ReceiveFrameAsync());
        Assert.Contains("replaced", first.CloseStatusDescription);
        await a.SendAsync(Raw.To("b"));
        Assert.Equal("a", (await second.ExpectAsync("message")).From);
        Assert.True(host.Hub.IsConnected("alpha", "b"));
    }

    [Fact]
    public async Task Client_reconnects_with_backoff_after_losing_its_connection()
    {
        await using var host = await HubHost.StartAsync();
        await using var b = host.Client("alpha", "b");
        b.Start();
        await b.WaitConnectedAsync().WaitAsync(Raw.Deadline);

        // Another connection under b's name takes over; the client notices, backs off and takes it back.
        using (var usurper = await host.RawAsync(host.Token("alpha", "b")))
        {
            await usurper.ExpectAsync("welcome");
            var deadline = DateTime.UtcNow + Raw.Deadline;
            while (b.Connections < 2 && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.True(b.Connections >= 2, $"client reconnected {b.Connections - 1} times");
            Assert.Null(await usurper.ReceiveFrameAsync()); // replaced by the client's new connection
        }

        await b.WaitConnectedAsync().WaitAsync(Raw.Deadline);
        using var a = await host.RawAsync(host.Token("alpha", "a"));
        await a.ExpectAsync("welcome");
        await a.SendAsync(Raw.To("b"));
        Assert.IsType<OfferMessage>(await Within(b.ChannelTo("a").ReceiveAsync()));
    }

    [Fact]
    public async Task Connections_without_a_valid_machine_token_or_upgrade_are_refused()
    {
        await using var host = await HubHost.StartAsync();
        var admin = host.Alpha.Issue("admin", TokenRoles.Admin);
        var foreign = new TokenService(TokenKeyRing.CreateEphemeral(), audience: "alpha").Issue("a", TokenRoles.Machine);
        foreach (var token in new[] { null, "garbage", admin, foreign })
        {
            var error = await Assert.ThrowsAsync<WebSocketException>(() => host.RawAsync(token));
            Assert.Contains("401", error.Message);
        }

        using var http = new HttpClient();
        var plain = await http.GetAsync(new UriBuilder(host.Uri) { Scheme = "http" }.Uri);
        Assert.Equal(HttpStatusCode.BadRequest, plain.StatusCode);
        Assert.Contains("WebSocket upgrade", await plain.Content.ReadAsStringAsync());
    }
}
