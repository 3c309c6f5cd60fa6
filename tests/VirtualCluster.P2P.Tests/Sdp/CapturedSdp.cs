namespace VirtualCluster.P2P.Tests.Sdp;

/// <summary>Descriptions captured from real peers on 2026-12-06 (Debian's chromium 156 and node-datachannel 0.33.4).</summary>
internal static class CapturedSdp
{
    /// <summary>Chromium's offer after gathering (createDataChannel, then createOffer), with the mDNS feature off.</summary>
    public const string ChromiumOffer = """
        v=0
        o=- 729717018041939392 2 IN IP4 127.0.0.1
        s=-
        t=0 0
        a=group:BUNDLE 0
        a=extmap-allow-mixed
        a=msid-semantic: WMS
        m=application 59343 UDP/DTLS/SCTP webrtc-datachannel
        c=IN IP4 192.0.2.2
        a=candidate:1124703168 1 udp 2113937151 192.0.2.2 59343 typ host generation 0 network-cost 999
        a=candidate:1554068164 1 udp 2113942271 fd00::2 60933 typ host generation 0 network-cost 999
        a=ice-ufrag:I22X
        a=ice-pwd:ZrK8lTdGS02kCLi65gjBvuyT
        a=ice-options:trickle
        a=fingerprint:sha-256 18:9B:7E:40:1E:9C:A3:25:7B:7C:34:00:6C:B4:EB:10:CE:1D:CF:75:15:E2:9B:1E:98:7E:45:B2:9A:8D:DE:DA
        a=setup:actpass
        a=mid:0
        a=sctp-port:5000
        a=max-message-size:262144

        """;

    /// <summary>node-datachannel's offer before gathering (session-level fingerprint, no candidates yet).</summary>
    public const string NodeDataChannelOffer = """
        v=0
        o=rtc 3738359125 0 IN IP4 127.0.0.1
        s=-
        t=0 0
        a=group:BUNDLE 0
        a=msid-semantic:WMS *
        a=ice-options:ice2,trickle
        a=fingerprint:sha-256 03:EE:E8:D3:28:A0:04:1C:8B:AA:15:B1:EC:66:B2:87:1C:9A:81:72:C4:CC:34:3E:AD:50:71:7F:42:76:0B:97
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel
        c=IN IP4 0.0.0.0
        a=mid:0
        a=sendrecv
        a=sctp-port:5000
        a=max-message-size:262144
        a=setup:actpass
        a=ice-ufrag:Iasf
        a=ice-pwd:ZWgN42V6OQn7s7wGThOwH0

        """;

    /// <summary>node-datachannel's answer to <see cref="ChromiumOffer"/> after gathering (upper-case UDP, end-of-candidates).</summary>
    public const string NodeDataChannelAnswer = """
        v=0
        o=rtc 1697894755 0 IN IP4 127.0.0.1
        s=-
        t=0 0
        a=group:BUNDLE 0
        a=msid-semantic:WMS *
        a=ice-options:ice2,trickle
        a=fingerprint:sha-256 50:07:99:7D:C7:88:AE:BB:5E:81:D3:E4:DA:ED:90:AC:B2:BF:A1:0A:28:10:9E:11:8B:58:6A:80:DC:7F:D0:2E
        m=application 40203 UDP/DTLS/SCTP webrtc-datachannel
        c=IN IP4 192.0.2.2
        a=mid:0
        a=sendrecv
        a=sctp-port:5000
        a=max-message-size:262144
        a=setup:active
        a=ice-ufrag:oJIb
        a=ice-pwd:YLUm/RMO4AlLu6WjPIQN8d
        a=candidate:2 1 UDP 2116026111 fd00::2 40203 typ host
        a=candidate:1 1 UDP 2114977791 192.0.2.2 40203 typ host
        a=end-of-candidates

        """;

    /// <summary>With CRLF line ends, as peers send them.</summary>
    public static string Crlf(string sdp) => sdp.ReplaceLineEndings("\r\n");
}
