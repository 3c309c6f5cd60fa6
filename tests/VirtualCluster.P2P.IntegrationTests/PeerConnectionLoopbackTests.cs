using System.Collections.Concurrent;
using System.Security.Cryptography;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.Dtls;
using VirtualCluster.P2P.IntegrationTests.Infrastructure;
using VirtualCluster.P2P.PeerConnections;
using VirtualCluster.P2P.Sdp;

namespace VirtualCluster.P2P.IntegrationTests;

/// <summary>Two .NET peer connections on real loopback UDP: ICE, DTLS, SCTP and DCEP end to end.</summary>
public sealed class PeerConnectionLoopbackTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Offer_answer_and_trickle_connect_and_a_channel_carries_messages_both_ways()
    {
        await using var pair = new PeerPair();
        var accepted = new TaskCompletionSource<DataChannel>();
        pair.Answerer.DataChannel += c => accepted.TrySetResult(c);
        await pair.NegotiateAsync();
        await Task.WhenAll(pair.Offerer.ConnectAsync(), pair.Answerer.ConnectAsync()).WaitAsync(Timeout);
        Assert.Equal(DtlsRole.Server, pair.Offerer.Dtls!.Role); // offer actpass, answer active
        Assert.Equal(DtlsRole.Client, pair.Answerer.Dtls!.Role);
        Assert.Equal(pair.Answerer.LocalFingerprint, DtlsFingerprint.Compute("sha-256", pair.Offerer.Dtls.RemoteCertificate));

        var channel = pair.Offerer.CreateDataChannel("chat");
        await channel.WaitForOpenAsync().WaitAsync(Timeout);
        var remote = await accepted.Task.WaitAsync(Timeout);
        Assert.Equal("chat", remote.Label);

        var atRemote = new ConcurrentQueue<(byte[] Data, bool Binary)>();
        var atLocal = new ConcurrentQueue<(byte[] Data, bool Binary)>();
        remote.MessageReceived += (_, d, binary) => atRemote.Enqueue((d.ToArray(), binary));
        channel.MessageReceived += (_, d, binary) => atLocal.Enqueue((d.ToArray(), binary));
        var sizes = new[] { 0, 1, 1000, 1200, 5000, 65536, 256 * 1024 };
        var sent = sizes.Select(n => RandomNumberGenerator.GetBytes(n)).ToList();
        foreach (var m in sent) channel.Send(m);
        channel.Send("hello");
        remote.Send("back");
        await Poll.UntilAsync(() => atRemote.Count == sizes.Length + 1 && atLocal.Count == 1, Timeout);
        var got = atRemote.ToArray();
        for (var i = 0; i < sizes.Length; i++)
        {
            Assert.Equal(sent[i], got[i].Data);
            Assert.True(got[i].Binary);
        }
        Assert.Equal("hello"u8.ToArray(), got[^1].Data);
        Assert.False(got[^1].Binary);
        Assert.Equal("back"u8.ToArray(), atLocal.Single().Data);
    }

    [Fact]
    public async Task A_peer_that_goes_away_closes_the_connection_with_a_reason()
    {
        await using var pair = new PeerPair(() =>
        {
            var o = PeerPair.Loopback();
            o.Ice.ConsentInterval = TimeSpan.FromMilliseconds(200);
            o.Ice.ConsentTimeout = TimeSpan.FromSeconds(2);
            return o;
        });
        await pair.NegotiateAsync();
        await Task.WhenAll(pair.Offerer.ConnectAsync(), pair.Answerer.ConnectAsync()).WaitAsync(Timeout);
        var channel = pair.Offerer.CreateDataChannel("c");
        await channel.WaitForOpenAsync().WaitAsync(Timeout);
        var closed = new TaskCompletionSource<string?>();
        channel.Closed += (_, reason) => closed.TrySetResult(reason);

        await pair.Answerer.Ice!.DisposeAsync(); // the peer's sockets vanish without a goodbye
        var reason = await closed.Task.WaitAsync(Timeout);
        Assert.False(string.IsNullOrEmpty(reason));
        await Poll.UntilAsync(() => pair.Offerer.ConnectionState == PeerConnectionState.Failed, Timeout);
        Assert.NotNull(pair.Offerer.FailureReason);
    }

    [Fact]
    public async Task A_description_with_another_fingerprint_fails_the_connection_at_DTLS()
    {
        await using var pair = new PeerPair();
        var offer = await pair.Offerer.CreateOfferAsync();
        var forged = DtlsCertificate.Generate().Fingerprint;
        pair.Answerer.SetRemoteDescription(offer with { Sdp = offer.Sdp.Replace(pair.Offerer.LocalFingerprint.ToString(), forged.ToString(), StringComparison.Ordinal) });
        pair.Offerer.SetRemoteDescription(await pair.Answerer.CreateAnswerAsync());
        var error = await Assert.ThrowsAsync<PeerConnectionFailedException>(() => pair.Answerer.ConnectAsync().WaitAsync(Timeout));
        Assert.Contains("fingerprint", error.Message);
        Assert.Equal(PeerConnectionState.Failed, pair.Answerer.ConnectionState);
    }

    [Fact]
    public void Bad_remote_descriptions_are_refused_with_the_reason()
    {
        var pc = new PeerConnection(PeerPair.Loopback());
        var error = Assert.Throws<ArgumentException>(() => pc.SetRemoteDescription(new SessionDescription(SdpType.Offer, "v=0\r\nm=audio 9 RTP/AVP 0\r\n")));
        Assert.Contains("m=application", error.Message);
        Assert.Throws<ArgumentException>(() => pc.SetRemoteDescription(new SessionDescription(SdpType.Answer, "v=0\r\n")));
        Assert.Throws<InvalidOperationException>(() => pc.CreateDataChannel("x"));
    }
}

internal static class Poll
{
    public static async Task UntilAsync(Func<bool> condition, TimeSpan deadline)
    {
        var until = DateTime.UtcNow + deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"condition not met within {deadline}");
            await Task.Delay(20);
        }
    }
}
