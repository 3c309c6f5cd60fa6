using System.Text;
using Microsoft.AspNetCore.Http;
using VirtualCluster.Gateway.BrowserDirect;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.Signaling;

namespace VirtualCluster.Gateway.Tests.BrowserDirect;

/// <summary>What the gateway accepts from a browser's signaling socket, and what it tells the browser.</summary>
public sealed class BrowserSignalingTests
{
    private const string Offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n";

    [Fact]
    public void An_offer_then_candidates_are_relayed_with_the_session()
    {
        var offered = false;
        Assert.Null(Translate(Frame(new { type = "offer", sdp = Offer }), ref offered, out var offer));
        var o = Assert.IsType<OfferMessage>(offer);
        Assert.Equal(("abcd", "0123456789012345678901", "s1"), (o.Ufrag, o.Pwd, o.Session));
        Assert.Null(Translate(Frame(new { type = "candidate", candidate = "candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host" }), ref offered, out var candidate));
        Assert.Equal("s1", Assert.IsType<CandidateMessage>(candidate).Session);
        Assert.Null(Translate(Frame(new { type = "end-of-candidates" }), ref offered, out var end));
        Assert.IsType<EndOfCandidatesMessage>(end);
    }

    [Theory]
    [InlineData("not json", "malformed: not JSON")]
    [InlineData("[1,2]", "malformed: a frame must be a JSON object")]
    [InlineData("{\"type\":\"answer\",\"sdp\":\"v=0\"}", "malformed: unknown type \"answer\"")]
    [InlineData("{\"sdp\":\"v=0\"}", "malformed: unknown type \"(none)\"")]
    [InlineData("{\"type\":\"offer\"}", "malformed: an offer needs \"sdp\"")]
    [InlineData("{\"type\":\"offer\",\"sdp\":\"v=0\\r\\nm=audio 9\\r\\n\"}", "malformed: the offer has no data channel")]
    [InlineData("{\"type\":\"offer\",\"sdp\":\"v=0\\r\\nm=application 9\\r\\n\"}", "malformed: the offer has no a=ice-ufrag/a=ice-pwd")]
    [InlineData("{\"type\":\"candidate\",\"candidate\":\"candidate:1 1 udp 1 10.0.0.1 9 typ host\"}", "malformed: a candidate before the offer")]
    [InlineData("{\"type\":\"end-of-candidates\"}", "malformed: end-of-candidates before the offer")]
    [InlineData("{\"type\":{\"nested\":{\"deeper\":{\"deepest\":{\"x\":1}}}}}", "malformed: not JSON")]
    public void Malformed_frames_get_a_clear_error_and_nothing_is_relayed(string frame, string error)
    {
        var offered = false;
        Assert.StartsWith(error, Translate(frame, ref offered, out var message));
        Assert.Null(message);
        Assert.False(offered);
    }

    [Fact]
    public void A_second_offer_and_a_bad_candidate_are_refused()
    {
        var offered = false;
        Assert.Null(Translate(Frame(new { type = "offer", sdp = Offer }), ref offered, out _));
        Assert.StartsWith("malformed: one offer per signaling socket", Translate(Frame(new { type = "offer", sdp = Offer }), ref offered, out _));
        Assert.StartsWith("malformed: \"candidate\" must be an ICE candidate line", Translate(Frame(new { type = "candidate", candidate = "a=rtpmap:1" }), ref offered, out _));
        Assert.StartsWith("malformed: a candidate needs", Translate(Frame(new { type = "candidate", candidate = 5 }), ref offered, out _));
    }

    [Fact]
    public void The_browser_gets_stun_urls_only_never_turn_credentials()
    {
        var servers = BrowserSignalingSession.BrowserIceServers([
            new IceServer(IceServerKind.Stun, "203.0.113.1", 3478),
            new IceServer(IceServerKind.Turn, "203.0.113.1", 3478, "user", "secret"),
            new IceServer(IceServerKind.Turn, "2001:db8::1", 5349, "user", "secret"),
        ]);
        var json = servers.ToJsonString();
        Assert.Equal("""[{"urls":["stun:203.0.113.1:3478","stun:[2001:db8::1]:5349"]}]""", json);
        Assert.DoesNotContain("secret", json, StringComparison.Ordinal);
        Assert.Equal("[]", BrowserSignalingSession.BrowserIceServers([]).ToJsonString());
    }

    [Theory]
    [InlineData("GET", "document", "navigate", null, true)]
    [InlineData("GET", "iframe", "navigate", null, false)] // the app's frame: proxied, or the page would nest itself
    [InlineData("GET", "empty", "cors", null, false)] // fetches
    [InlineData("GET", null, null, null, false)] // curl and scripts: no Fetch Metadata
    [InlineData("POST", "document", "navigate", null, false)] // a form post goes to the app
    [InlineData("GET", "document", "navigate", "fallback", false)] // the worker's fallback
    public void Only_a_tabs_own_navigation_gets_the_bootstrap_page(string method, string? dest, string? mode, string? marker, bool bootstrap)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        if (dest is not null) context.Request.Headers["Sec-Fetch-Dest"] = dest;
        if (mode is not null) context.Request.Headers["Sec-Fetch-Mode"] = mode;
        if (marker is not null) context.Request.Headers[BrowserDirectPaths.FallbackHeader] = marker;
        Assert.Equal(bootstrap, BrowserDirectPaths.WantsBootstrap(context.Request));
    }

    [Fact]
    public void The_defaults_are_valid_and_each_bad_limit_is_named_with_its_range()
    {
        var validator = new BrowserDirectOptionsValidator();
        Assert.True(validator.Validate(null, new BrowserDirectOptions()).Succeeded);
        var result = validator.Validate(null, new BrowserDirectOptions
        {
            MaxSessionsPerClient = 0, MessagesPerSecond = 0, Burst = 0, MaxFrameBytes = 100, MaxStrikes = 0, SessionLifetime = TimeSpan.FromSeconds(1),
        });
        Assert.False(result.Succeeded);
        foreach (var option in new[] { "MaxSessionsPerClient 0", "MessagesPerSecond 0", "Burst 0", "MaxFrameBytes 100", "MaxStrikes 0", "SessionLifetime 00:00:01" })
            Assert.Contains(result.Failures!, f => f.StartsWith(option, StringComparison.Ordinal));
    }

    private static string Frame(object value) => System.Text.Json.JsonSerializer.Serialize(value);

    private static string? Translate(string frame, ref bool offered, out SignalingMessage? message) =>
        BrowserSignalingSession.Translate(Encoding.UTF8.GetBytes(frame), "s1", ref offered, out message);
}
