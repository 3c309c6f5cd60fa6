using System.Net;
using System.Text;
using VirtualCluster.P2P.Stun;

namespace VirtualCluster.P2P.Tests.Stun;

/// <summary>The sample messages of RFC 5769 §2.1-2.4 (the bytes are the RFC's test data).</summary>
public sealed class Rfc5769VectorTests
{
    internal static readonly byte[] SampleRequest = Hex.Bytes("""
        00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
        00 24 00 04 6e 00 01 ff
        80 29 00 08 93 2f f9 b1 51 26 3b 36
        00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
        00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
        80 28 00 04 e5 7a 3b cf
        """);

    internal static readonly byte[] SampleIPv4Response = Hex.Bytes("""
        01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 08 00 01 a1 47 e1 12 a6 43
        00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
        80 28 00 04 c0 7d 4c 96
        """);

    internal static readonly byte[] SampleIPv6Response = Hex.Bytes("""
        01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
        00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
        80 28 00 04 c8 fb 0b 4c
        """);

    internal static readonly byte[] SampleLongTermRequest = Hex.Bytes("""
        00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
        00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
        00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
        00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
        00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66
        """);

    private const string ShortTermPassword = "VOkJxbRl1RmTxUk/WvJxBt";

    [Fact]
    public void SampleRequest_parses_with_its_attributes_integrity_and_fingerprint()
    {
        Assert.True(StunMessage.TryParse(SampleRequest, out var m));
        Assert.Equal(StunMethod.Binding, m.Method);
        Assert.Equal(StunClass.Request, m.Class);
        Assert.Equal("b7e7a701bc34d686fa87dfae", m.TransactionId.ToString());
        Assert.Equal("STUN test client", m.GetString(StunAttributeType.Software));
        Assert.Equal(0x6e0001ffu, m.GetUInt32(StunAttributeType.Priority));
        Assert.Equal(0x932ff9b151263b36UL, m.GetUInt64(StunAttributeType.IceControlled));
        Assert.Equal("evtj:h6vY", m.GetString(StunAttributeType.Username));
        Assert.True(m.CheckFingerprint());
        Assert.True(m.VerifyIntegrity(StunCredentials.ShortTermKey(ShortTermPassword)));
        Assert.False(m.VerifyIntegrity(StunCredentials.ShortTermKey("wrong")));
    }

    [Fact]
    public void SampleIPv4Response_gives_192_0_2_1_port_32853()
    {
        Assert.True(StunMessage.TryParse(SampleIPv4Response, out var m));
        Assert.Equal(StunClass.SuccessResponse, m.Class);
        Assert.Equal("test vector", m.GetString(StunAttributeType.Software));
        Assert.True(m.TryGetXorAddress(StunAttributeType.XorMappedAddress, out var mapped));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853), mapped);
        Assert.True(m.CheckFingerprint());
        Assert.True(m.VerifyIntegrity(StunCredentials.ShortTermKey(ShortTermPassword)));
    }

    [Fact]
    public void SampleIPv6Response_gives_the_IPv6_address()
    {
        Assert.True(StunMessage.TryParse(SampleIPv6Response, out var m));
        Assert.True(m.TryGetXorAddress(StunAttributeType.XorMappedAddress, out var mapped));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8:1234:5678:11:2233:4455:6677"), 32853), mapped);
        Assert.True(m.CheckFingerprint());
        Assert.True(m.VerifyIntegrity(StunCredentials.ShortTermKey(ShortTermPassword)));
    }

    [Fact]
    public void SampleLongTermRequest_verifies_with_the_SASLprepped_password()
    {
        Assert.True(StunMessage.TryParse(SampleLongTermRequest, out var m));
        var username = m.GetString(StunAttributeType.Username)!;
        Assert.Equal("\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9", username);
        Assert.Equal("f//499k954d6OL34oL9FSTvy64sA", m.GetString(StunAttributeType.Nonce));
        Assert.Equal("example.org", m.GetString(StunAttributeType.Realm));
        Assert.False(m.CheckFingerprint()); // this sample has none
        // RFC 5769 §2.4: the password "The<U+00AD>M<U+00AA>tr<U+2168>" becomes "TheMatrIX" after SASLprep
        const string password = "The\u00ADM\u00AAtr\u2168";
        Assert.Equal("TheMatrIX", StunCredentials.Prepare(password));
        Assert.True(m.VerifyIntegrity(StunCredentials.LongTermKey(username, "example.org", password)));
        Assert.True(m.VerifyIntegrity(StunCredentials.LongTermKey(username, "example.org", "TheMatrIX")));
        Assert.False(m.VerifyIntegrity(StunCredentials.LongTermKey(username, "example.org", "TheMatrix")));
    }

    [Fact]
    public void Builder_writes_the_vector_XOR_MAPPED_ADDRESS_bytes()
    {
        var id = StunTransactionId.Read(Hex.Bytes("b7e7a701bc34d686fa87dfae"));
        var bytes = new StunMessageBuilder(StunMethod.Binding, StunClass.SuccessResponse, id)
            .AddXorAddress(StunAttributeType.XorMappedAddress, new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853)).Build();
        Assert.Equal(Hex.Bytes("0101000c2112a442b7e7a701bc34d686fa87dfae002000080001a147e112a643"), bytes);
    }

    [Fact]
    public void Builder_reproduces_the_vector_up_to_the_padding_byte()
    {
        var id = StunTransactionId.Read(Hex.Bytes("b7e7a701bc34d686fa87dfae"));
        var bytes = new StunMessageBuilder(StunMethod.Binding, StunClass.SuccessResponse, id)
            .Add(StunAttributeType.Software, Encoding.ASCII.GetBytes("test vector"))
            .AddXorAddress(StunAttributeType.XorMappedAddress, new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853))
            .AddMessageIntegrity(StunCredentials.ShortTermKey(ShortTermPassword)).AddFingerprintAndBuild();
        Assert.True(StunMessage.TryParse(bytes, out var m));
        Assert.True(m.CheckFingerprint());
        Assert.True(m.VerifyIntegrity(StunCredentials.ShortTermKey(ShortTermPassword)));
        // identical to the vector except the padding byte after SOFTWARE (0x00 here, 0x20 there) and the hashes over it
        Assert.Equal(SampleIPv4Response.Length, bytes.Length);
        Assert.Equal(SampleIPv4Response[..35], bytes[..35]);
        Assert.Equal(SampleIPv4Response[36..52], bytes[36..52]);
        var patched = (byte[])bytes.Clone();
        patched[35] = 0x20;
        Assert.True(StunMessage.TryParse(patched, out var p));
        Assert.False(p.CheckFingerprint());
    }
}
