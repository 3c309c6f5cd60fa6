using System.Buffers.Binary;
using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using VirtualCluster.P2P.Dtls;

namespace VirtualCluster.P2P.Tests.Dtls;

/// <summary>
/// Our epoch-1 record layer after BouncyCastle's handshake: real handshakes between two transports, then records
/// captured on the wire replayed, re-labelled and tampered with. Each refusal is checked against a positive control
/// (the untouched record, or a fresh one, still arrives).
/// </summary>
public sealed class DtlsRecordLayerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private sealed class Capture : IAsyncDisposable
    {
        public readonly ConcurrentQueue<byte[]> ToServer = new();
        public readonly ConcurrentQueue<byte[]> AtServer = new();

        public Capture()
        {
            Pair = new DtlsTransportTests.Pair(toServer: d => { ToServer.Enqueue(d.ToArray()); return true; });
            Pair.Server.Received = p => AtServer.Enqueue(p.ToArray());
        }

        public DtlsTransportTests.Pair Pair { get; }

        /// <summary>Sends one packet client to server and returns the datagram that carried it (once it arrived).</summary>
        public async Task<byte[]> SendAndCaptureAsync(byte[] payload)
        {
            ToServer.Clear();
            var before = AtServer.Count;
            Pair.Client.Send(payload);
            await Poll.UntilAsync(() => AtServer.Count == before + 1, Deadline);
            Assert.Equal(payload, AtServer.Last());
            return Assert.Single(ToServer);
        }

        public ValueTask DisposeAsync() => Pair.DisposeAsync();
    }

    [Fact]
    public async Task After_the_handshake_application_data_uses_our_record_layer_with_aes_gcm_records()
    {
        await using var c = new Capture();
        await c.Pair.ConnectAsync();
        Assert.True(c.Pair.Client.OwnRecordLayer && c.Pair.Server.OwnRecordLayer);
        var payload = "over our own record layer"u8.ToArray();
        var datagram = await c.SendAndCaptureAsync(payload);
        Assert.Equal(23, datagram[0]); // application_data
        Assert.Equal(0xFEFD, BinaryPrimitives.ReadUInt16BigEndian(datagram.AsSpan(1)));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(datagram.AsSpan(3)));
        Assert.Equal(DtlsRecordProtection.Overhead + payload.Length, datagram.Length);
        // the server's reply travels the other way through the same kind of record
        var atClient = new ConcurrentQueue<byte[]>();
        c.Pair.Client.Received = p => atClient.Enqueue(p.ToArray());
        c.Pair.Server.Send("reply"u8);
        await Poll.UntilAsync(() => atClient.Count == 1, Deadline);
        Assert.Equal("reply"u8.ToArray(), atClient.Single());
    }

    [Fact]
    public async Task A_replayed_record_is_refused_once_it_was_accepted()
    {
        await using var c = new Capture();
        await c.Pair.ConnectAsync();
        var datagram = await c.SendAndCaptureAsync([1, 2, 3]);
        var refused = c.Pair.Server.RefusedRecords;
        for (var i = 0; i < 5; i++) c.Pair.Server.Deliver(datagram);
        Assert.Equal(refused + 5, c.Pair.Server.RefusedRecords);
        Assert.Single(c.AtServer);

        // older records still inside the window but already seen are refused too; the session goes on
        var second = await c.SendAndCaptureAsync([4]);
        c.Pair.Server.Deliver(datagram);
        c.Pair.Server.Deliver(second);
        Assert.Equal(refused + 7, c.Pair.Server.RefusedRecords);
        Assert.Equal(2, c.AtServer.Count);
        Assert.True(c.Pair.Server.IsOpen);
    }

    [Fact]
    public async Task A_record_held_back_and_delivered_late_inside_the_window_is_accepted_once()
    {
        var hold = 0;
        byte[]? held = null;
        // the path holds one application-data record back (reordering) while newer ones pass
        await using var pair = new DtlsTransportTests.Pair(toServer: d =>
        {
            if (d.Span[0] != 23 || Interlocked.Exchange(ref hold, 0) == 0) return true;
            held = d.ToArray();
            return false;
        });
        var got = new ConcurrentQueue<byte[]>();
        pair.Server.Received = p => got.Enqueue(p.ToArray());
        await pair.ConnectAsync();
        hold = 1;
        pair.Client.Send([99]);
        for (var i = 0; i < 10; i++) pair.Client.Send([(byte)i]);
        await Poll.UntilAsync(() => got.Count == 10, Deadline);
        Assert.NotNull(held);
        pair.Server.Deliver(held);
        Assert.Equal(11, got.Count); // opened on the delivering thread, no hand-over
        Assert.Equal([99], got.Last());
        pair.Server.Deliver(held);
        Assert.Equal(11, got.Count);
        Assert.Equal(1, pair.Server.RefusedRecords);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(0xFFFF)]
    public async Task A_record_relabelled_with_another_epoch_is_refused(int epoch)
    {
        await using var c = new Capture();
        await c.Pair.ConnectAsync();
        var datagram = await c.SendAndCaptureAsync([7, 7]);
        // relabelled and moved far ahead of the window, so the label is what gets it refused, not the replay check
        var copy = (byte[])datagram.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(3), (ushort)epoch);
        BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(7), 0x7fff_fff0); // far ahead: never a replay
        var refused = c.Pair.Server.RefusedRecords;
        c.Pair.Server.Deliver(copy);
        // epoch 0 is BouncyCastle's (the plaintext epoch; it drops application data there); others are refused here
        Assert.Equal(epoch == 0 ? refused : refused + 1, c.Pair.Server.RefusedRecords);
        await c.SendAndCaptureAsync([8]); // positive control: the session goes on, and only the real record arrived
        Assert.Equal(2, c.AtServer.Count);
        Assert.True(c.Pair.Server.IsOpen);
    }

    [Fact]
    public async Task Tampered_records_are_refused_without_ending_the_session()
    {
        await using var c = new Capture();
        await c.Pair.ConnectAsync();
        var payload = new byte[600];
        Random.Shared.NextBytes(payload);
        var datagram = await c.SendAndCaptureAsync(payload);
        var refused = c.Pair.Server.RefusedRecords;
        var tampered = 0;
        // flip one bit in the header's sequence number, the explicit nonce, the ciphertext and the tag, and cut the tag
        foreach (var at in new[] { 10, 13, 20, 21 + 300, datagram.Length - 1 })
        {
            var copy = (byte[])datagram.Clone();
            copy[at] ^= 0x01;
            c.Pair.Server.Deliver(copy);
            tampered++;
        }
        var cut = datagram[..^4];
        BinaryPrimitives.WriteUInt16BigEndian(cut.AsSpan(11), (ushort)(cut.Length - 13));
        c.Pair.Server.Deliver(cut);
        tampered++;
        Assert.Equal(refused + tampered, c.Pair.Server.RefusedRecords);
        Assert.Single(c.AtServer);
        Assert.True(c.Pair.Server.IsOpen);
        await c.SendAndCaptureAsync([1]);
    }

    [Fact]
    public async Task A_close_notify_from_our_record_layer_closes_the_peer_orderly_and_fatal_alerts_give_a_reason()
    {
        await using var c = new Capture();
        await c.Pair.ConnectAsync();
        var closed = new TaskCompletionSource<string?>();
        c.Pair.Server.Closed += r => closed.TrySetResult(r);
        await c.Pair.Client.DisposeAsync();
        Assert.Null(await closed.Task.WaitAsync(Deadline));
        Assert.Equal(21, c.ToServer.Last()[0]); // the alert went out as an epoch-1 alert record
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(c.ToServer.Last().AsSpan(3)));
    }

    [Fact]
    public async Task Larger_records_are_offered_to_SCTP_only_when_probing_is_configured()
    {
        await using var off = new DtlsTransportTests.Pair();
        await off.ConnectAsync();
        Assert.Equal(off.Client.MaxPacketSize, off.Client.MaxProbePacketSize); // the default: browsers may not survive a probe
        Assert.Throws<ArgumentException>(() => off.Client.Send(new byte[off.Client.MaxPacketSize + 1]));

        await using var on = new DtlsTransportTests.Pair(options: new DtlsTransportOptions { MaxProbeMtu = DtlsTransportOptions.MaxRecordDatagram });
        var got = new ConcurrentQueue<byte[]>();
        on.Server.Received = p => got.Enqueue(p.ToArray());
        await on.ConnectAsync();
        Assert.Equal(1 << 14, on.Client.MaxProbePacketSize);
        var big = new byte[1 << 14];
        Random.Shared.NextBytes(big);
        on.Client.Send(big); // one 16 KiB record, opened on arrival
        await Poll.UntilAsync(() => got.Count == 1, Deadline);
        Assert.Equal(big, got.Single());
        Assert.Throws<OptionsValidationException>(() => new DtlsTransport(DtlsRole.Client, DtlsCertificate.Generate(), on.ServerCertificate.Fingerprint, _ => { },
            new DtlsTransportOptions { MaxProbeMtu = DtlsTransportOptions.MaxRecordDatagram + 1 }));
    }

    [Fact]
    public void The_replay_window_accepts_each_number_once_and_forgets_numbers_older_than_64()
    {
        var w = new DtlsReplayWindow();
        Assert.True(w.MayAccept(0));
        w.Accept(0);
        Assert.False(w.MayAccept(0));
        w.Accept(100);
        Assert.False(w.MayAccept(36)); // 64 behind the highest: out of the window
        Assert.True(w.MayAccept(37));
        w.Accept(37);
        Assert.False(w.MayAccept(37));
        Assert.True(w.MayAccept(99));
        w.Accept(300);
        Assert.False(w.MayAccept(100));
        Assert.True(w.MayAccept(299));
        Assert.True(w.MayAccept(301));
    }
}
