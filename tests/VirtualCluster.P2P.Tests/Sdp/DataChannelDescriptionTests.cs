using System.Net;
using CsCheck;
using VirtualCluster.P2P.Dtls;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.Sdp;

namespace VirtualCluster.P2P.Tests.Sdp;

public sealed class DataChannelDescriptionTests
{
    [Fact]
    public void Parses_Chromiums_offer()
    {
        Assert.True(DataChannelDescription.TryParse(CapturedSdp.Crlf(CapturedSdp.ChromiumOffer), out var d, out var error), error);
        Assert.Equal(new IceParameters("I22X", "ZrK8lTdGS02kCLi65gjBvuyT"), d!.Ice);
        Assert.Equal(DtlsSetup.ActPass, d.Setup);
        Assert.Equal("0", d.Mid);
        Assert.Equal(5000, d.SctpPort);
        Assert.Equal(262144, d.MaxMessageSize);
        Assert.Equal("sha-256 18:9B:7E:40:1E:9C:A3:25:7B:7C:34:00:6C:B4:EB:10:CE:1D:CF:75:15:E2:9B:1E:98:7E:45:B2:9A:8D:DE:DA", d.PreferredFingerprint.ToString());
        Assert.Equal(2, d.Candidates.Count);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.2"), 59343), d.Candidates[0].EndPoint);
        Assert.False(d.EndOfCandidates);
    }

    [Fact]
    public void Parses_node_datachannels_offer_with_session_level_fingerprint_and_answer_with_upper_case_transport()
    {
        Assert.True(DataChannelDescription.TryParse(CapturedSdp.NodeDataChannelOffer, out var offer, out var error), error);
        Assert.Equal("Iasf", offer!.Ice.Ufrag);
        Assert.Single(offer.Fingerprints);
        Assert.Empty(offer.Candidates);

        Assert.True(DataChannelDescription.TryParse(CapturedSdp.Crlf(CapturedSdp.NodeDataChannelAnswer), out var answer, out error), error);
        Assert.Equal(DtlsSetup.Active, answer!.Setup);
        Assert.Equal(2, answer.Candidates.Count);
        Assert.All(answer.Candidates, c => Assert.Equal("udp", c.Transport));
        Assert.True(answer.EndOfCandidates);
        Assert.Equal(DtlsRole.Server, DataChannelDescription.RoleFor(DtlsSetup.ActPass, answer.Setup));
    }

    [Fact]
    public void Our_description_round_trips_and_unknown_attributes_are_ignored()
    {
        var cert = DtlsCertificate.Generate();
        IceCandidate.TryParse("candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host", out var candidate);
        var ours = new DataChannelDescription
        {
            Ice = IceParameters.Generate(), Fingerprints = [cert.Fingerprint], Setup = DtlsSetup.ActPass, Mid = "data",
            MaxMessageSize = 1 << 20, Candidates = [candidate!], EndOfCandidates = true,
        };
        var sdp = ours.ToSdp(42);
        Assert.Contains("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n", sdp);
        Assert.Contains("a=group:BUNDLE data\r\n", sdp);
        Assert.True(DataChannelDescription.TryParse(sdp.Replace("a=mid:data", "a=mid:data\r\na=x-unknown:whatever\r\na=rtcp-mux", StringComparison.Ordinal), out var back, out var error), error);
        Assert.Equal(ours.Ice, back!.Ice);
        Assert.Equal(cert.Fingerprint, back.PreferredFingerprint);
        Assert.Equal("data", back.Mid);
        Assert.Equal(1 << 20, back.MaxMessageSize);
        Assert.Single(back.Candidates);
        Assert.True(back.EndOfCandidates);
        Assert.DoesNotContain("x-unknown", back.ToSdp(42));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("o=- 1 1 IN IP4 0.0.0.0\r\n", "v=0")]
    [InlineData("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "m=application")]
    [InlineData("v=0\r\nm=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n", "port 0")]
    [InlineData("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=fingerprint:sha-256 00\r\n", "ice-ufrag")]
    [InlineData("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n", "fingerprint")]
    public void Rejects_what_cannot_carry_a_data_channel_and_says_why(string sdp, string expected)
    {
        Assert.False(DataChannelDescription.TryParse(sdp, out _, out var error));
        Assert.Contains(expected, error);
    }

    [Fact]
    public void Legacy_sctpmap_form_is_read()
    {
        var sdp = CapturedSdp.NodeDataChannelOffer.Replace("m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "m=application 9 DTLS/SCTP 5001", StringComparison.Ordinal)
            .Replace("a=sctp-port:5000\n", "a=sctpmap:5001 webrtc-datachannel 1024\n", StringComparison.Ordinal);
        Assert.True(DataChannelDescription.TryParse(sdp, out var d, out var error), error);
        Assert.Equal(5001, d!.SctpPort);
    }

    [Fact]
    public void Setup_roles_follow_RFC_8842()
    {
        Assert.Equal(DtlsRole.Client, DataChannelDescription.RoleFor(DtlsSetup.Active, DtlsSetup.ActPass));
        Assert.Equal(DtlsRole.Server, DataChannelDescription.RoleFor(DtlsSetup.Passive, DtlsSetup.ActPass));
        Assert.Equal(DtlsRole.Client, DataChannelDescription.RoleFor(DtlsSetup.ActPass, DtlsSetup.Passive));
        Assert.Throws<InvalidOperationException>(() => DataChannelDescription.RoleFor(DtlsSetup.ActPass, DtlsSetup.ActPass));
    }

    [Fact]
    public void Random_and_mutated_text_never_throws()
    {
        var lines = CapturedSdp.ChromiumOffer.Split('\n');
        Gen.Int[0, lines.Length - 1].Array[1, 30].Select(Gen.String).Sample(t =>
        {
            var (picks, junk) = t;
            var text = string.Join("\r\n", picks.Select(i => lines[i])) + junk;
            DataChannelDescription.TryParse(text, out _, out _);
        }, iter: 2000);
        Gen.String.Sample(s => { DataChannelDescription.TryParse(s, out _, out _); }, iter: 2000);
    }
}
