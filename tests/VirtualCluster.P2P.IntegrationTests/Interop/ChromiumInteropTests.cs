using System.Collections.Concurrent;
using System.Security.Cryptography;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.Dtls;
using VirtualCluster.P2P.PeerConnections;

namespace VirtualCluster.P2P.IntegrationTests.Interop;

/// <summary>
/// Interop with headless Chromium (Debian's package) over loopback: the browser's own ICE, DTLS, SCTP and DCEP against
/// ours. Fails with what to install when chromium is missing (scripts/install-p2p-deps.sh installs it).
/// </summary>
[Collection("chromium")]
public sealed class ChromiumInteropTests
{
    private static readonly int[] Sizes = [0, 1, 100, 1163, 1200, 4096, 16 * 1024, 65535, 65536, 100_000, 256 * 1024];

    [Fact]
    public async Task Browser_offers_and_text_and_binary_messages_of_0_to_256_KiB_arrive_intact_both_ways()
    {
        await using var session = await BrowserSession.StartAsync();
        var channel = await session.BrowserOffersAsync("first");
        Assert.Equal(DtlsRole.Client, session.Peer.Dtls!.Role); // we answered active
        Assert.Equal(PeerConnectionState.Connected, session.Peer.ConnectionState);

        var got = new ConcurrentQueue<(byte[] Data, bool Binary)>();
        channel.MessageReceived += (_, d, binary) => got.Enqueue((d.ToArray(), binary));

        // .NET -> browser -> .NET: the page echoes every message as it got it (ArrayBuffer stays binary, string stays text)
        var sent = new List<(byte[] Data, bool Binary)>();
        foreach (var size in Sizes)
        {
            var data = RandomNumberGenerator.GetBytes(size);
            channel.Send(data);
            sent.Add((data, true));
            var text = new string('t', size);
            channel.Send(text);
            sent.Add((System.Text.Encoding.UTF8.GetBytes(text), false));
        }
        await Poll.UntilAsync(() => got.Count >= sent.Count, BrowserSession.Timeout);
        Assert.Equal(sent.Select(s => (Convert.ToHexString(SHA256.HashData(s.Data)), s.Binary)), got.Select(g => (Convert.ToHexString(SHA256.HashData(g.Data)), g.Binary)));

        // browser -> .NET: patterned binary and text messages the browser generates itself
        got.Clear();
        await session.EvalAsync($"interop.sendPatterns('first', [{string.Join(',', Sizes)}])");
        await Poll.UntilAsync(() => got.Count >= Sizes.Length * 2, BrowserSession.Timeout);
        var received = got.ToArray();
        for (var i = 0; i < Sizes.Length; i++)
        {
            var size = Sizes[i];
            var binary = received[2 * i];
            Assert.True(binary.Binary);
            Assert.Equal(size, binary.Data.Length);
            for (var j = 0; j < size; j++) Assert.Equal((byte)((j * 31 + (size & 255)) & 255), binary.Data[j]);
            Assert.False(received[2 * i + 1].Binary);
            Assert.Equal(new string('b', size), System.Text.Encoding.UTF8.GetString(received[2 * i + 1].Data));
        }
    }

    [Fact]
    public async Task Browser_closes_a_channel_and_opens_a_new_one()
    {
        await using var session = await BrowserSession.StartAsync();
        var first = await session.BrowserOffersAsync("first");
        var closed = new TaskCompletionSource<string?>();
        first.Closed += (_, reason) => closed.TrySetResult(reason);
        await session.EvalAsync("interop.closeChannel('first')");
        await closed.Task.WaitAsync(BrowserSession.Timeout);
        Assert.Equal(DataChannelState.Closed, first.State);

        await session.EvalAsync("interop.openChannel('second')");
        var second = await session.Accepted.Reader.ReadAsync().AsTask().WaitAsync(BrowserSession.Timeout);
        Assert.Equal("second", second.Label);
        await session.EvalAsync("interop.waitOpen('second')");
        var echoed = new TaskCompletionSource<string>();
        second.MessageReceived += (_, d, _) => echoed.TrySetResult(System.Text.Encoding.UTF8.GetString(d));
        second.Send("on the new channel");
        Assert.Equal("on the new channel", await echoed.Task.WaitAsync(BrowserSession.Timeout));

        // and .NET closes one the browser sees closed
        second.Close();
        await Poll.UntilAsync(() => session.EvalAsync("interop.channelInfo('second').state").Result?.GetValue<string>() == "closed", BrowserSession.Timeout);
    }

    [Fact]
    public async Task Unordered_channel_without_retransmissions_carries_messages()
    {
        await using var session = await BrowserSession.StartAsync();
        await session.BrowserOffersAsync("first");
        await session.EvalAsync("interop.openChannel('lossy', { ordered: false, maxRetransmits: 0 })");
        var lossy = await session.Accepted.Reader.ReadAsync().AsTask().WaitAsync(BrowserSession.Timeout);
        Assert.False(lossy.Ordered);
        Assert.Equal(0, lossy.MaxRetransmits);
        await session.EvalAsync("interop.waitOpen('lossy')");
        // one message at a time, each echoed by the browser on the same channel: nothing is queued, so on loopback a
        // loss is rare; it is allowed by design of maxRetransmits: 0, and bounded so that a channel that drops
        // messages systematically still fails
        var (echoed, lost) = await LossyEcho.RunAsync(lossy, 50, TimeSpan.FromSeconds(3));
        Assert.True(lost <= 3 && echoed >= 47, $"{echoed} of 50 messages came back ({lost} lost)");
        var info = (await session.EvalAsync("interop.channelInfo('lossy')"))!.AsObject();
        Assert.False((bool)info["ordered"]!);
        Assert.Equal(0, (int)info["maxRetransmits"]!);
    }

    [Fact]
    public async Task DotNet_offers_and_100_MB_arrive_in_the_browser_with_matching_SHA256()
    {
        await using var session = await BrowserSession.StartAsync();
        var channel = await session.DotNetOffersAsync("bulk");
        Assert.Equal(DtlsRole.Server, session.Peer.Dtls!.Role); // the browser answered active
        const int total = 100 * 1024 * 1024;
        var digest = session.EvalAsync($"interop.receiveBulk('bulk', {total})", TimeSpan.FromMinutes(5));
        var hash = await BulkSender.SendAsync(channel, total, TimeSpan.FromMinutes(5));
        Assert.Equal(Convert.ToHexString(hash).ToLowerInvariant(), (await digest)!.GetValue<string>());
    }
}

/// <summary>Sends pseudo-random bytes in 64 KiB messages, keeping at most 4 MiB buffered, and returns their SHA-256.</summary>
internal static class BulkSender
{
    public static async Task<byte[]> SendAsync(DataChannel channel, long total, TimeSpan timeout)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var random = new Random(1234);
        var chunk = new byte[64 * 1024];
        var deadline = DateTime.UtcNow + timeout;
        channel.BufferedAmountLowThreshold = 1 << 20;
        var low = new SemaphoreSlim(0);
        channel.BufferedAmountLow += _ => low.Release();
        for (long sent = 0; sent < total;)
        {
            var n = (int)Math.Min(chunk.Length, total - sent);
            random.NextBytes(chunk.AsSpan(0, n));
            while (channel.BufferedAmount > 4 << 20)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"sent {sent} of {total} bytes before the deadline");
                await low.WaitAsync(50);
            }
            channel.Send(chunk.AsSpan(0, n));
            sha.AppendData(chunk, 0, n);
            sent += n;
        }
        return sha.GetHashAndReset();
    }
}
