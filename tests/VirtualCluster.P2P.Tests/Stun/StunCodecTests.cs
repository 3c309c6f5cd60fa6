using System.Net;
using VirtualCluster.P2P.Stun;

namespace VirtualCluster.P2P.Tests.Stun;

public sealed class StunCodecTests
{
    [Theory]
    [InlineData(StunMethod.Binding, StunClass.Request, 0x0001)]
    [InlineData(StunMethod.Binding, StunClass.SuccessResponse, 0x0101)]
    [InlineData(StunMethod.Binding, StunClass.ErrorResponse, 0x0111)]
    [InlineData(StunMethod.Binding, StunClass.Indication, 0x0011)]
    [InlineData(StunMethod.Allocate, StunClass.Request, 0x0003)]
    [InlineData(StunMethod.Send, StunClass.Indication, 0x0016)]
    [InlineData(StunMethod.Data, StunClass.Indication, 0x0017)]
    [InlineData(StunMethod.ChannelBind, StunClass.SuccessResponse, 0x0109)]
    public void Message_types_encode_and_decode(StunMethod method, StunClass cls, int type)
    {
        Assert.Equal(type, StunConstants.EncodeType(method, cls));
        Assert.Equal((method, cls), StunConstants.DecodeType((ushort)type));
    }

    [Fact]
    public void Error_code_unknown_attributes_and_addresses_round_trip()
    {
        var id = StunTransactionId.New();
        var v6 = new IPEndPoint(IPAddress.Parse("2001:db8::7"), 4242);
        var bytes = new StunMessageBuilder(StunMethod.Allocate, StunClass.ErrorResponse, id)
            .AddErrorCode(420, "Unknown Attribute")
            .AddUnknownAttributes([0x0031, 0x7777])
            .AddXorAddress(StunAttributeType.XorPeerAddress, v6)
            .AddAddress(StunAttributeType.MappedAddress, new IPEndPoint(IPAddress.Parse("198.51.100.9"), 1))
            .AddFingerprintAndBuild();
        Assert.True(StunMessage.TryParse(bytes, out var m));
        Assert.Equal(id, m.TransactionId);
        Assert.True(m.TryGetError(out var code, out var reason));
        Assert.Equal(420, code);
        Assert.Equal("Unknown Attribute", reason);
        Assert.Equal(new ushort[] { 0x0031, 0x7777 }, m.GetUnknownAttributes());
        Assert.True(m.TryGetXorAddress(StunAttributeType.XorPeerAddress, out var peer));
        Assert.Equal(v6, peer);
        Assert.True(m.TryGetAddress(StunAttributeType.MappedAddress, out var plain));
        Assert.Equal("198.51.100.9:1", plain.ToString());
        Assert.True(m.CheckFingerprint());
    }

    [Fact]
    public void Integrity_SHA256_is_accepted_and_checked()
    {
        var key = StunCredentials.ShortTermKey("secret-password-123456");
        var bytes = new StunMessageBuilder(StunMethod.Binding, StunClass.Request, StunTransactionId.New())
            .Add(StunAttributeType.Username, "a:b").AddMessageIntegrity(key).AddMessageIntegritySha256(key).AddFingerprintAndBuild();
        Assert.True(StunMessage.TryParse(bytes, out var m));
        Assert.True(m.IntegritySha256Offset > m.IntegrityOffset);
        Assert.True(m.VerifyIntegrity(key));
        Assert.False(m.VerifyIntegrity(StunCredentials.ShortTermKey("other")));
    }

    [Fact]
    public void Attributes_after_integrity_are_ignored_and_after_fingerprint_rejected()
    {
        var key = StunCredentials.ShortTermKey("pw");
        var builder = new StunMessageBuilder(StunMethod.Binding, StunClass.Request, StunTransactionId.New()).AddMessageIntegrity(key);
        Assert.Throws<InvalidOperationException>(() => builder.Add(StunAttributeType.Username, "late"));
        var valid = new StunMessageBuilder(StunMethod.Binding, StunClass.Request, StunTransactionId.New()).AddFingerprintAndBuild();
        var extended = new byte[valid.Length + 8];
        valid.CopyTo(extended, 0);
        extended[3] = (byte)(extended[3] + 8); // length now covers a SOFTWARE attribute after FINGERPRINT
        new byte[] { 0x80, 0x22, 0x00, 0x04, 0x61, 0x62, 0x63, 0x64 }.CopyTo(extended, valid.Length);
        Assert.False(StunMessage.TryParse(extended, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("0001000021")]
    [InlineData("000100002112a442000000000000000000000000ff")] // trailing byte
    [InlineData("000100042112a442000000000000000000000000")] // length beyond datagram
    [InlineData("c00100002112a442000000000000000000000000")] // top bits set
    [InlineData("000100002112a443000000000000000000000000")] // wrong cookie
    [InlineData("000100082112a44200000000000000000000000000060009616263")] // attribute overruns
    [InlineData("000100082112a4420000000000000000000000000008000400000000")] // MESSAGE-INTEGRITY of 4 bytes
    public void Malformed_messages_are_rejected(string hex)
    {
        Assert.False(StunMessage.TryParse(Convert.FromHexString(hex), out _));
    }
}
