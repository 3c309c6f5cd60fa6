using System.Security.Cryptography;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.Sctp;
using Xunit;
using static VirtualCluster.P2P.Tests.Sctp.SctpAssociationTests;

namespace VirtualCluster.P2P.Tests.Sctp;

public sealed class SctpReliabilityTests
{
    [Fact]
    public async Task Twenty_megabytes_arrive_intact_through_5_percent_loss_reordering_and_duplicates()
    {
        await using var pair = await SctpPair.ConnectAsync(seed: 7, configure: l => { l.LossRate = 0.05; l.ReorderRate = 0.02; l.DuplicateRate = 0.01; });
        var (a, b) = await pair.OpenAsync("bulk");
        var data = RandomNumberGenerator.GetBytes(20 * 1024 * 1024);
        await using var writer = new DataChannelStream(a);
        await using var reader = new DataChannelStream(b);
        var readTask = Task.Run(async () =>
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[100_000];
            long total = 0;
            while (total < data.Length)
            {
                var n = await reader.ReadAsync(buffer);
                if (n == 0) break;
                sha.AppendData(buffer, 0, n);
                total += n;
            }
            return (total, sha.GetHashAndReset());
        });
        await writer.WriteAsync(data).AsTask().WaitAsync(TimeSpan.FromMinutes(3));
        var (received, hash) = await readTask.WaitAsync(TimeSpan.FromMinutes(3));
        Assert.Equal(data.Length, received);
        Assert.Equal(SHA256.HashData(data), hash);
        Assert.True(pair.Link.A.PacketsDropped > 100, $"the link dropped only {pair.Link.A.PacketsDropped} packets: loss was not exercised");
    }

    [Fact]
    public async Task An_ordered_channel_with_maxRetransmits_0_skips_lost_messages_with_forward_tsn()
    {
        await using var pair = await SctpPair.ConnectAsync(seed: 3);
        var (a, b) = await pair.OpenAsync("lossy", new DataChannelInit { Ordered = true, MaxRetransmits = 0 });
        var inbox = CreateInbox(b);
        pair.Link.LossRate = 0.2;
        for (var i = 0; i < 300; i++) a.Send(BitConverter.GetBytes(i));
        await Eventually.TrueAsync(() => pair.A.Holdings.Outstanding == 0 && pair.A.Holdings.Queued == 0, "every chunk acknowledged or skipped", describe: () => $"A holds {pair.A.Holdings}, B holds {pair.B.Holdings}");
        pair.Link.LossRate = 0;
        a.Send(BitConverter.GetBytes(1000));
        var got = new List<int>();
        while (true)
        {
            var m = await Take(inbox);
            var value = BitConverter.ToInt32(m.Data);
            if (value == 1000) break;
            got.Add(value);
        }
        Assert.InRange(got.Count, 1, 299); // some were lost for good (maxRetransmits 0), the rest came
        Assert.Equal(got.OrderBy(x => x), got); // in order, with holes
        Assert.Equal(got.Distinct().Count(), got.Count);
    }

    [Fact]
    public async Task An_unordered_maxRetransmits_0_channel_under_loss_delivers_what_arrives_and_stays_usable()
    {
        await using var pair = await SctpPair.ConnectAsync(seed: 5);
        var (a, b) = await pair.OpenAsync("game", new DataChannelInit { Ordered = false, MaxRetransmits = 0 });
        var (ra, rb) = await pair.OpenAsync("reliable");
        var inbox = CreateInbox(b);
        var reliableInbox = CreateInbox(rb);
        pair.Link.LossRate = 0.1;
        for (var i = 0; i < 300; i++) a.Send(new byte[500]);
        for (var i = 0; i < 50; i++) ra.Send(BitConverter.GetBytes(i));
        for (var i = 0; i < 50; i++) Assert.Equal(i, BitConverter.ToInt32((await Take(reliableInbox)).Data));
        await Eventually.TrueAsync(() => pair.A.Holdings.Outstanding == 0, "abandoned chunks skipped by FORWARD-TSN");
        Assert.InRange(inbox.Count, 1, 299);
        Assert.Equal(0, pair.B.Holdings.HeldForReassembly);
    }

    [Fact]
    public async Task A_timed_channel_gives_up_messages_after_their_lifetime()
    {
        var options = SctpPair.Fast();
        options.MaxRetransmissions = 50; // the link is cut on purpose below; a loaded machine must not fail the association
        await using var pair = await SctpPair.ConnectAsync(options, SctpPair.Fast());
        var (a, b) = await pair.OpenAsync("timed", new DataChannelInit { MaxPacketLifeTime = TimeSpan.FromMilliseconds(50) });
        Assert.Equal(TimeSpan.FromMilliseconds(50), b.MaxPacketLifeTime);
        var inbox = CreateInbox(b);
        pair.Link.Blocked = true;
        for (var i = 0; i < 20; i++) a.Send(new byte[100]);
        await Eventually.TrueAsync(() => pair.A.Holdings.Queued == 0, "all 20 sent into the cut link");
        await Task.Delay(150); // let their 50 ms lifetime pass; the message below is the positive control
        pair.Link.Blocked = false;
        a.Send(new byte[] { 42 });
        await Eventually.TrueAsync(() => !inbox.IsEmpty, "the message sent after the lifetime passed arrives",
            describe: () => $"A {pair.A.State} {pair.A.CloseReason} holds {pair.A.Holdings}; B {pair.B.State} {pair.B.CloseReason} holds {pair.B.Holdings}");
        var m = await Take(inbox);
        Assert.Equal(new byte[] { 42 }, m.Data);
        await Eventually.TrueAsync(() => pair.A.Holdings.Outstanding == 0, "expired messages skipped with FORWARD-TSN");
        Assert.True(inbox.IsEmpty);
    }

    [Fact]
    public async Task A_peer_that_goes_silent_fails_the_association_and_closes_channels_with_a_reason()
    {
        var options = SctpPair.Fast();
        options.MaxRetransmissions = 3;
        options.MaxRto = TimeSpan.FromMilliseconds(200);
        await using var pair = await SctpPair.ConnectAsync(options, SctpPair.Fast());
        var (a, _) = await pair.OpenAsync("doomed");
        string? reason = null;
        a.Closed += (_, r) => reason = r;
        pair.Link.Blocked = true;
        a.Send(new byte[1000]);
        await a.Completion.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(DataChannelState.Closed, a.State);
        Assert.Contains("stopped acknowledging", reason);
        Assert.Equal(SctpAssociationState.Closed, pair.A.State);
        Assert.Contains("retransmissions", pair.A.CloseReason);
    }

    [Fact]
    public async Task An_idle_association_detects_a_silent_peer_by_heartbeats()
    {
        var options = SctpPair.Fast();
        options.HeartbeatInterval = TimeSpan.FromMilliseconds(100);
        options.MaxRetransmissions = 3;
        await using var pair = await SctpPair.ConnectAsync(options, SctpPair.Fast());
        // Positive control: heartbeats answered keep it open.
        await Task.Delay(600);
        Assert.Equal(SctpAssociationState.Open, pair.A.State);
        pair.Link.Blocked = true;
        await pair.A.Completion.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Contains("heartbeats", pair.A.CloseReason);
    }
}
