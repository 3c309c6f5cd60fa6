using System.Text;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.Sctp;
using Xunit;
using static VirtualCluster.P2P.Tests.Sctp.SctpAssociationTests;

namespace VirtualCluster.P2P.Tests.Sctp;

public sealed class SctpChannelTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Closing_a_channel_on_one_side_closes_it_on_both_and_the_id_can_be_reused(bool closerIsOpener)
    {
        await using var pair = await SctpPair.ConnectAsync();
        var (a, b) = await pair.OpenAsync("first");
        var inbox = CreateInbox(b);
        a.Send("before close");
        var closer = closerIsOpener ? a : b;
        closer.Close();
        await Task.WhenAll(a.Completion, b.Completion).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(DataChannelState.Closed, a.State);
        Assert.Equal(DataChannelState.Closed, b.State);
        Assert.Null(a.CloseReason);
        Assert.Equal("before close", Encoding.UTF8.GetString((await Take(inbox)).Data)); // queued data went out first
        Assert.Throws<InvalidOperationException>(() => a.Send("late"));

        var (a2, b2) = await pair.OpenAsync("second");
        Assert.Equal(a.Id, a2.Id); // the stream id is free again
        var inbox2 = CreateInbox(b2);
        a2.Send("again");
        Assert.Equal("again", Encoding.UTF8.GetString((await Take(inbox2)).Data));
    }

    [Fact]
    public async Task Negotiated_channels_open_without_dcep_on_the_agreed_id()
    {
        await using var pair = new SctpPair();
        var a = pair.A.CreateDataChannel("neg", new DataChannelInit { Negotiated = true, Id = 7 });
        var b = pair.B.CreateDataChannel("neg", new DataChannelInit { Negotiated = true, Id = 7 });
        Assert.Equal(DataChannelState.Connecting, a.State);
        await Task.WhenAll(pair.A.ConnectAsync(), pair.B.ConnectAsync()).WaitAsync(TimeSpan.FromSeconds(20));
        await Task.WhenAll(a.WaitForOpenAsync(), b.WaitForOpenAsync()).WaitAsync(TimeSpan.FromSeconds(20));
        var inbox = CreateInbox(b);
        a.Send("n");
        Assert.Equal("n", Encoding.UTF8.GetString((await Take(inbox)).Data));
        Assert.True(pair.AcceptedByB.IsEmpty);
    }

    [Fact]
    public async Task Max_message_size_is_enforced_on_send_and_on_receive()
    {
        var small = SctpPair.Fast();
        small.MaxMessageSize = 4096;
        await using var pair = await SctpPair.ConnectAsync(SctpPair.Fast(), small);
        var (a, b) = await pair.OpenAsync("limits");
        Assert.Equal(4096, pair.A.RemoteMaxMessageSize);
        var error = Assert.Throws<ArgumentException>(() => a.Send(new byte[4097]));
        Assert.Contains("4096", error.Message);
        var inbox = CreateInbox(b);
        a.Send(new byte[4096]); // positive control: the limit itself is fine
        Assert.Equal(4096, (await Take(inbox)).Data.Length);

        pair.A.RemoteMaxMessageSize = 0; // a sender that ignores the SDP limit
        a.Send(new byte[10_000]);
        await pair.B.Completion.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Contains("max-message-size", pair.B.CloseReason);
        await pair.A.Completion.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Contains("max-message-size", pair.A.CloseReason);
    }

    [Fact]
    public async Task Graceful_close_delivers_queued_data_then_ends_both_sides_without_a_reason()
    {
        await using var pair = await SctpPair.ConnectAsync();
        var (a, b) = await pair.OpenAsync("bye");
        var inbox = CreateInbox(b);
        for (var i = 0; i < 100; i++) a.Send(new byte[10_000]);
        await pair.A.CloseAsync().WaitAsync(TimeSpan.FromSeconds(20));
        await pair.B.Completion.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Null(pair.A.CloseReason);
        Assert.Null(pair.B.CloseReason);
        Assert.Equal(100, inbox.Count);
        Assert.Equal(DataChannelState.Closed, b.State);
    }

    [Fact]
    public async Task BufferedAmount_falls_to_the_threshold_and_raises_BufferedAmountLow()
    {
        await using var pair = await SctpPair.ConnectAsync();
        var (a, _) = await pair.OpenAsync("bp");
        a.BufferedAmountLowThreshold = 100_000;
        var low = 0;
        a.BufferedAmountLow += _ => Interlocked.Increment(ref low);
        pair.Link.Blocked = true; // nothing is acknowledged, so only the initial cwnd leaves the buffer
        for (var i = 0; i < 40; i++) a.Send(new byte[65536]);
        Assert.True(a.BufferedAmount > 2_000_000, $"BufferedAmount {a.BufferedAmount} right after queueing 2.5 MB");
        Assert.Equal(0, Volatile.Read(ref low));
        pair.Link.Blocked = false;
        await Eventually.TrueAsync(() => a.BufferedAmount == 0, "everything sent");
        Assert.True(Volatile.Read(ref low) >= 1);
    }

    [Fact]
    public void Invalid_options_and_inits_are_refused_with_the_field_named()
    {
        using var link = new VirtualCluster.P2P.Transport.MemoryLink();
        var e = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new SctpAssociation(link.A, true, new SctpOptions { MaxMessageSize = 10, MinRto = TimeSpan.Zero }));
        Assert.Contains("MaxMessageSize", e.Message);
        Assert.Contains("MinRto", e.Message);
        var ok = new SctpAssociation(link.B, false);
        Assert.Throws<ArgumentException>(() => ok.CreateDataChannel("x", new DataChannelInit { MaxRetransmits = 1, MaxPacketLifeTime = TimeSpan.FromSeconds(1) }));
        Assert.Throws<ArgumentException>(() => ok.CreateDataChannel("x", new DataChannelInit { Negotiated = true }));
        Assert.Throws<ArgumentException>(() => ok.CreateDataChannel("x", new DataChannelInit { Id = 65535 }));
    }
}
