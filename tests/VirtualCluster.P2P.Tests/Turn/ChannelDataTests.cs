using VirtualCluster.P2P.Turn;

namespace VirtualCluster.P2P.Tests.Turn;

public sealed class ChannelDataTests
{
    [Fact]
    public void Frames_are_padded_and_parse_back()
    {
        var frame = ChannelData.Build(0x4001, "hello"u8);
        Assert.Equal(Hex.Bytes("4001 0005 68656c6c6f 000000"), frame);
        Assert.True(ChannelData.TryParse(frame, out var channel, out var data));
        Assert.Equal(0x4001, channel);
        Assert.Equal("hello"u8.ToArray(), data.ToArray());
        Assert.True(ChannelData.TryParse(frame.AsSpan(0, 9), out _, out _)); // padding is optional over UDP
    }

    [Theory]
    [InlineData("40")]
    [InlineData("3fff00000000")] // channel below the range
    [InlineData("5000000400000000")] // reserved range
    [InlineData("4000000868656c6c")] // length beyond the datagram
    public void Bad_frames_are_rejected(string hex)
    {
        Assert.False(ChannelData.TryParse(Convert.FromHexString(hex), out _, out _));
    }
}
