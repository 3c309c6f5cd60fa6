using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.Sctp;
using Xunit;

namespace VirtualCluster.P2P.Tests.Sctp;

public sealed class SctpAssociationTests
{
    [Fact]
    public async Task Both_sides_connect_at_once_and_open_a_channel_with_dcep()
    {
        await using var pair = await SctpPair.ConnectAsync();
        Assert.Equal(SctpAssociationState.Open, pair.A.State);
        Assert.Equal(SctpAssociationState.Open, pair.B.State);
        var (a, b) = await pair.OpenAsync("chat", new DataChannelInit { Protocol = "proto-1" });
        Assert.Equal("chat", b.Label);
        Assert.Equal("proto-1", b.Protocol);
        Assert.Equal(a.Id, b.Id);
        Assert.Equal(0, a.Id % 2); // DTLS client: even ids
        Assert.Equal(DataChannelState.Open, b.State);

        var fromB = CreateInbox(a);
        var fromA = CreateInbox(b);
        a.Send("hello");
        b.Send(new byte[] { 1, 2, 3 });
        var text = await Take(fromA);
        Assert.Equal("hello", Encoding.UTF8.GetString(text.Data));
        Assert.False(text.Binary);
        var bin = await Take(fromB);
        Assert.Equal(new byte[] { 1, 2, 3 }, bin.Data);
        Assert.True(bin.Binary);
    }

    [Fact]
    public async Task Server_side_channels_get_odd_ids()
    {
        await using var pair = await SctpPair.ConnectAsync();
        var c = pair.B.CreateDataChannel("from-server");
        var accepted = await Eventually.ValueAsync(() => pair.AcceptedByA.TryDequeue(out var x) ? x : null, "A accepts");
        Assert.Equal(1, c.Id % 2);
        Assert.Equal(c.Id, accepted.Id);
    }

    [Fact]
    public async Task One_side_only_connects_and_the_other_answers_statelessly()
    {
        await using var pair = new SctpPair();
        await pair.A.ConnectAsync().WaitAsync(TimeSpan.FromSeconds(20));
        await Eventually.TrueAsync(() => pair.B.State == SctpAssociationState.Open, "B established by A's COOKIE-ECHO");
        await pair.B.ConnectAsync().WaitAsync(TimeSpan.FromSeconds(5)); // already open: completes at once
    }

    [Fact]
    public async Task Cookie_ack_goes_out_before_the_open_of_a_channel_created_early()
    {
        // B (answering A's INIT statelessly) has a channel waiting to open when A's COOKIE-ECHO establishes it. A drops
        // DATA until its COOKIE-ACK arrives, so an open sent first was lost and came only after a retransmission timeout.
        var fromB = new ConcurrentQueue<byte>();
        await using var pair = new SctpPair(configure: link => link.Filter = (end, packet) =>
        {
            if (end.Name == "B" && packet.Length > 12) fromB.Enqueue(packet.Span[12]); // first chunk type of each packet
            return true;
        });
        var early = pair.B.CreateDataChannel("early");
        await pair.A.ConnectAsync().WaitAsync(TimeSpan.FromSeconds(20));
        var accepted = await Eventually.ValueAsync(() => pair.AcceptedByA.TryDequeue(out var c) ? c : null, "A accepts B's early channel");
        Assert.Equal("early", accepted.Label);
        Assert.Equal(early.Id, accepted.Id);
        var types = fromB.ToList();
        const byte Data = 0, CookieAck = 11;
        Assert.Contains(CookieAck, types);
        var firstData = types.IndexOf(Data);
        Assert.True(firstData < 0 || firstData > types.IndexOf(CookieAck), $"B sent DATA before COOKIE-ACK: chunk types {string.Join(",", types)}");
        Assert.Equal(0, pair.B.RetransmittedChunks);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Messages_from_0_bytes_to_256_KiB_arrive_intact_both_ways(bool ordered)
    {
        await using var pair = await SctpPair.ConnectAsync();
        var (a, b) = await pair.OpenAsync("sizes", new DataChannelInit { Ordered = ordered });
        int[] sizes = [0, 1, 2, 3, 100, 1171, 1172, 1173, 4096, 65535, 65536, 65537, 200_000, 256 * 1024];
        var messages = sizes.Select(n => RandomNumberGenerator.GetBytes(n)).ToArray();
        foreach (var (from, to) in new[] { (a, b), (b, a) })
        {
            var inbox = CreateInbox(to);
            foreach (var m in messages) from.Send(m);
            from.Send("");
            from.Send("text ✓");
            var got = new List<(byte[] Data, bool Binary)>();
            for (var i = 0; i < messages.Length + 2; i++) got.Add(await Take(inbox));
            if (!ordered) got = got.OrderBy(g => g.Binary ? 0 : 1).ThenBy(g => g.Data.Length).ToList();
            var binaries = got.Where(g => g.Binary).Select(g => g.Data).ToList();
            Assert.Equal(messages.Length, binaries.Count);
            var expected = ordered ? messages : messages.OrderBy(m => m.Length).ToArray();
            for (var i = 0; i < expected.Length; i++) Assert.True(expected[i].AsSpan().SequenceEqual(binaries[i]), $"message {i} ({expected[i].Length} bytes) differs");
            var texts = got.Where(g => !g.Binary).Select(g => Encoding.UTF8.GetString(g.Data)).ToList();
            Assert.Contains("", texts);
            Assert.Contains("text ✓", texts);
        }
    }

    internal static ConcurrentQueue<(byte[] Data, bool Binary)> CreateInbox(DataChannel channel)
    {
        var inbox = new ConcurrentQueue<(byte[], bool)>();
        channel.MessageReceived += (_, data, binary) => inbox.Enqueue((data.ToArray(), binary));
        return inbox;
    }

    internal static Task<(byte[] Data, bool Binary)> Take(ConcurrentQueue<(byte[] Data, bool Binary)> inbox, TimeSpan? timeout = null) =>
        Eventually.ValueAsync<Tuple<byte[], bool>>(() => inbox.TryDequeue(out var m) ? Tuple.Create(m.Data, m.Binary) : null, "a message arrives", timeout)
            .ContinueWith(t => (t.Result.Item1, t.Result.Item2), TaskScheduler.Default);
}
