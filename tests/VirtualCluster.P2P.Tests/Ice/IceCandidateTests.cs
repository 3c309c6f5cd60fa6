using System.Net;
using VirtualCluster.P2P.Ice;

namespace VirtualCluster.P2P.Tests.Ice;

public sealed class IceCandidateTests
{
    [Theory]
    [InlineData("candidate:1 1 udp 2130706431 10.0.1.2 40000 typ host")]
    [InlineData("candidate:2 1 udp 1694498815 203.0.113.11 40000 typ srflx raddr 10.0.1.2 rport 40000")]
    [InlineData("candidate:3 1 udp 16777215 203.0.113.1 50001 typ relay raddr 203.0.113.11 rport 40000 generation 0 network-id 1")]
    [InlineData("candidate:p1 1 udp 1862270975 2001:db8::1 5000 typ prflx")]
    public void Lines_round_trip(string line)
    {
        Assert.True(IceCandidate.TryParse(line, out var c));
        Assert.Equal(line, c.ToSdp());
        Assert.True(IceCandidate.TryParse("a=" + line, out var again));
        Assert.Equal(c.EndPoint, again.EndPoint);
    }

    [Fact]
    public void Fields_are_read()
    {
        Assert.True(IceCandidate.TryParse("candidate:abc+/ 1 UDP 1694498815 203.0.113.11 40000 typ srflx raddr 10.0.1.2 rport 40001", out var c));
        Assert.Equal("abc+/", c.Foundation);
        Assert.Equal("udp", c.Transport);
        Assert.Equal(1694498815u, c.Priority);
        Assert.Equal(IceCandidateType.ServerReflexive, c.Type);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.0.1.2"), 40001), c.RelatedEndPoint);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("candidate:")]
    [InlineData("candidate:1 1 udp 2130706431 10.0.1.2 40000 typ")]
    [InlineData("candidate:1 1 udp 2130706431 10.0.1.2 40000 typ bogus")]
    [InlineData("candidate:1 0 udp 2130706431 10.0.1.2 40000 typ host")]
    [InlineData("candidate:1 257 udp 2130706431 10.0.1.2 40000 typ host")]
    [InlineData("candidate:1 1 udp 4294967296 10.0.1.2 40000 typ host")]
    [InlineData("candidate:1 1 udp 2130706431 10.0.1.2 65536 typ host")]
    [InlineData("candidate:1 1 udp 2130706431 host.local 40000 typ host")]
    [InlineData("candidate:1 1 udp 2130706431 10.1 40000 typ host")]
    [InlineData("candidate:1 1 udp -1 10.0.1.2 40000 typ host")]
    [InlineData("candidate:1 1 udp 1 10.0.1.2 40000 typ host raddr")]
    [InlineData("candidate:1 1 udp 1 10.0.1.2 40000 typ host raddr x rport 1")]
    [InlineData("candidate:0123456789012345678901234567890123 1 udp 1 10.0.1.2 1 typ host")]
    [InlineData("candidate:a_b 1 udp 1 10.0.1.2 1 typ host")]
    [InlineData("x=candidate:1 1 udp 1 10.0.1.2 1 typ host")]
    public void Malformed_lines_are_rejected(string? line)
    {
        Assert.False(IceCandidate.TryParse(line, out _));
    }

    [Fact]
    public void Priorities_follow_RFC_8445()
    {
        Assert.Equal(2130706431u, IcePriority.Candidate(IceCandidateType.Host, 65535, 1));
        Assert.Equal(1694498815u, IcePriority.Candidate(IceCandidateType.ServerReflexive, 65535, 1));
        Assert.Equal(1862270975u, IcePriority.Candidate(IceCandidateType.PeerReflexive, 65535, 1));
        Assert.Equal(16777215u, IcePriority.Candidate(IceCandidateType.Relayed, 65535, 1));
        Assert.Equal(16777214u, IcePriority.Candidate(IceCandidateType.Relayed, 65535, 2));
        // 2^32·MIN(G,D) + 2·MAX(G,D) + (G>D ? 1 : 0)
        Assert.Equal((5UL << 32) + 2 * 7UL + 1, IcePriority.Pair(7, 5));
        Assert.Equal((5UL << 32) + 2 * 7UL, IcePriority.Pair(5, 7));
    }

    [Theory]
    [InlineData("stun:203.0.113.1", IceServerKind.Stun, "203.0.113.1", 3478)]
    [InlineData("stun:203.0.113.1:19302", IceServerKind.Stun, "203.0.113.1", 19302)]
    [InlineData("turn:[2001:db8::1]:3479?transport=udp", IceServerKind.Turn, "2001:db8::1", 3479)]
    [InlineData("turn:turn.example.org", IceServerKind.Turn, "turn.example.org", 3478)]
    public void Server_uris_parse(string uri, IceServerKind kind, string host, int port)
    {
        Assert.True(IceServer.TryParse(uri, "u", "p", out var s));
        Assert.Equal((kind, host, port), (s.Kind, s.Host, s.Port));
        Assert.False(IceServer.TryParse("turn:x?transport=tcp", "u", "p", out _));
        Assert.False(IceServer.TryParse("turn:x", null, null, out _));
        Assert.False(IceServer.TryParse("http://x", null, null, out _));
    }
}
