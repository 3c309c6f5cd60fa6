using VirtualCluster.P2P.Signaling;

namespace VirtualCluster.P2P.Tests.Signaling;

public sealed class SignalingTests
{
    [Fact]
    public void Messages_are_small_JSON_objects_with_a_type()
    {
        Assert.Equal("""{"type":"offer","ufrag":"abcd","pwd":"0123456789012345678901"}""", new OfferMessage("abcd", "0123456789012345678901").ToJson());
        Assert.Equal("""{"type":"answer","ufrag":"wxyz","pwd":"p"}""", new AnswerMessage("wxyz", "p").ToJson());
        Assert.Equal("""{"type":"candidate","candidate":"candidate:1 1 udp 1 10.0.0.1 1 typ host"}""", new CandidateMessage("candidate:1 1 udp 1 10.0.0.1 1 typ host").ToJson());
        Assert.Equal("""{"type":"end-of-candidates"}""", new EndOfCandidatesMessage().ToJson());
    }

    [Theory]
    [InlineData("""{"type":"offer","ufrag":"abcd","pwd":"x"}""", typeof(OfferMessage))]
    [InlineData("""{"type":"candidate","candidate":"candidate:1 1 udp 1 10.0.0.1 1 typ host"}""", typeof(CandidateMessage))]
    [InlineData("""{"type":"end-of-candidates"}""", typeof(EndOfCandidatesMessage))]
    public void Messages_parse(string json, Type type)
    {
        Assert.True(SignalingMessage.TryParse(json, out var message));
        Assert.IsType(type, message);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("[]")]
    [InlineData("""{"ufrag":"abcd"}""")]
    [InlineData("""{"type":"bogus"}""")]
    [InlineData("""{"type":"offer"}""")]
    [InlineData("""{"type":"candidate","candidate":""}""")]
    [InlineData("""{"type":"offer","ufrag":5,"pwd":"x"}""")]
    public void Malformed_messages_are_rejected(string? json)
    {
        Assert.False(SignalingMessage.TryParse(json, out _));
    }

    [Fact]
    public async Task In_process_channels_deliver_in_order_and_end()
    {
        var (a, b) = InProcessSignalingChannel.CreatePair();
        await a.SendAsync(new OfferMessage("abcd", "pw"));
        await a.SendAsync(new EndOfCandidatesMessage());
        a.Complete();
        Assert.IsType<OfferMessage>(await b.ReceiveAsync());
        Assert.IsType<EndOfCandidatesMessage>(await b.ReceiveAsync());
        Assert.Null(await b.ReceiveAsync());
    }

    [Fact]
    public async Task Json_lines_channel_skips_and_counts_bad_lines()
    {
        var input = new StringReader("not json\n{\"type\":\"end-of-candidates\"}\n");
        var output = new StringWriter();
        var channel = new JsonLinesSignalingChannel(input, output);
        Assert.IsType<EndOfCandidatesMessage>(await channel.ReceiveAsync());
        Assert.Null(await channel.ReceiveAsync());
        Assert.Equal(1, channel.Malformed);
        await channel.SendAsync(new AnswerMessage("u", "p"));
        Assert.Equal("{\"type\":\"answer\",\"ufrag\":\"u\",\"pwd\":\"p\"}" + Environment.NewLine, output.ToString());
    }
}
