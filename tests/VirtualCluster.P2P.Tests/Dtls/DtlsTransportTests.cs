using VirtualCluster.P2P.Dtls;

namespace VirtualCluster.P2P.Tests.Dtls;

/// <summary>Two DTLS transports wired back to back in memory (real BouncyCastle handshakes, real threads).</summary>
public sealed class DtlsTransportTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    /// <summary>A pair of transports whose datagrams go straight to each other, optionally through a filter.</summary>
    internal sealed class Pair : IAsyncDisposable
    {
        public Pair(DtlsCertificate? clientCert = null, DtlsCertificate? serverCert = null, DtlsFingerprint? clientExpects = null,
            Func<ReadOnlyMemory<byte>, bool>? toServer = null, Func<ReadOnlyMemory<byte>, bool>? toClient = null, DtlsTransportOptions? options = null)
        {
            ClientCertificate = clientCert ?? DtlsCertificate.Generate();
            ServerCertificate = serverCert ?? DtlsCertificate.Generate();
            DtlsTransport? server = null;
            Client = new DtlsTransport(DtlsRole.Client, ClientCertificate, clientExpects ?? ServerCertificate.Fingerprint,
                d => { if (toServer?.Invoke(d.ToArray()) ?? true) server!.Deliver(d); }, options);
            Server = server = new DtlsTransport(DtlsRole.Server, ServerCertificate, ClientCertificate.Fingerprint,
                d => { if (toClient?.Invoke(d.ToArray()) ?? true) Client.Deliver(d); }, options);
        }

        public DtlsCertificate ClientCertificate { get; }
        public DtlsCertificate ServerCertificate { get; }
        public DtlsTransport Client { get; }
        public DtlsTransport Server { get; }

        public Task ConnectAsync(TimeSpan? deadline = null) => Task.WhenAll(Client.ConnectAsync(), Server.ConnectAsync()).WaitAsync(deadline ?? Deadline);

        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Handshake_authenticates_both_sides_and_carries_packets_both_ways()
    {
        await using var pair = new Pair();
        var atServer = new List<byte[]>();
        var atClient = new List<byte[]>();
        pair.Server.Received = p => { lock (atServer) atServer.Add(p.ToArray()); };
        pair.Client.Received = p => { lock (atClient) atClient.Add(p.ToArray()); };
        await pair.ConnectAsync();

        Assert.True(pair.Client.IsOpen && pair.Server.IsOpen);
        Assert.Equal(pair.ServerCertificate.Der, pair.Client.RemoteCertificate);
        Assert.Equal(pair.ClientCertificate.Der, pair.Server.RemoteCertificate);
        Assert.InRange(pair.Client.MaxPacketSize, 1100, 1200 - 37);

        var big = new byte[pair.Client.MaxPacketSize];
        Random.Shared.NextBytes(big);
        pair.Client.Send(big);
        pair.Client.Send([]);
        pair.Server.Send("hello"u8);
        await Poll.UntilAsync(() => { lock (atServer) lock (atClient) return atServer.Count == 2 && atClient.Count == 1; }, Deadline);
        Assert.Equal(big, atServer[0]);
        Assert.Empty(atServer[1]);
        Assert.Equal("hello"u8.ToArray(), atClient[0]);
        Assert.Throws<ArgumentException>(() => pair.Client.Send(new byte[pair.Client.MaxProbePacketSize + 1]));
    }

    [Fact]
    public async Task A_certificate_that_does_not_match_the_signaled_fingerprint_is_refused()
    {
        var other = DtlsCertificate.Generate();
        await using var pair = new Pair(clientExpects: other.Fingerprint);
        string? clientReason = "not closed";
        pair.Client.Closed += r => clientReason = r;
        var server = pair.Server.ConnectAsync();
        var error = await Assert.ThrowsAsync<DtlsHandshakeException>(() => pair.Client.ConnectAsync().WaitAsync(Deadline));
        Assert.True(error.Message.Contains("does not match the fingerprint", StringComparison.Ordinal), error.ToString());
        Assert.Contains("fingerprint", clientReason);
        Assert.False(pair.Client.IsOpen);
        var serverError = await Assert.ThrowsAsync<DtlsHandshakeException>(() => server.WaitAsync(Deadline));
        Assert.Contains("bad_certificate", serverError.Message); // the client told the server why
    }

    [Fact]
    public async Task Handshake_survives_the_loss_of_a_fifth_of_the_datagrams_in_both_directions()
    {
        var random = new Random(11);
        int sent = 0, dropped = 0;
        bool Lossy(ReadOnlyMemory<byte> _)
        {
            lock (random)
            {
                sent++;
                if (random.Next(5) != 0) return true;
                dropped++;
                return false;
            }
        }
        await using var pair = new Pair(toServer: Lossy, toClient: Lossy, options: new DtlsTransportOptions { HandshakeTimeout = TimeSpan.FromSeconds(60) });
        await pair.ConnectAsync(TimeSpan.FromSeconds(60));
        Assert.True(pair.Client.IsOpen && pair.Server.IsOpen);
        Assert.True(dropped > 0, $"{dropped} of {sent} dropped"); // flights were retransmitted
    }

    [Fact]
    public async Task Close_notify_closes_the_peer_orderly()
    {
        await using var pair = new Pair();
        await pair.ConnectAsync();
        var closed = new TaskCompletionSource<string?>();
        pair.Server.Closed += r => closed.TrySetResult(r);
        await pair.Client.DisposeAsync();
        Assert.Null(await closed.Task.WaitAsync(Deadline));
        Assert.False(pair.Server.IsOpen);
        Assert.Throws<InvalidOperationException>(() => pair.Server.Send("late"u8));
    }

    [Fact]
    public async Task A_silent_peer_fails_the_handshake_with_a_timeout_reason()
    {
        var server = DtlsCertificate.Generate();
        await using var client = new DtlsTransport(DtlsRole.Client, DtlsCertificate.Generate(), server.Fingerprint, _ => { },
            new DtlsTransportOptions { HandshakeTimeout = TimeSpan.FromSeconds(2) });
        string? reason = null;
        client.Closed += r => reason = r;
        var error = await Assert.ThrowsAsync<DtlsHandshakeException>(() => client.ConnectAsync().WaitAsync(Deadline));
        Assert.Contains("no answer from the peer", error.Message);
        Assert.Contains("no answer", reason);
    }

    [Fact]
    public async Task Garbage_records_after_the_handshake_are_dropped_and_the_session_goes_on()
    {
        await using var pair = new Pair();
        var got = 0;
        pair.Server.Received = _ => Interlocked.Increment(ref got);
        await pair.ConnectAsync();
        var random = new Random(7);
        for (var i = 0; i < 5000; i++)
        {
            var junk = new byte[random.Next(0, 1500)];
            random.NextBytes(junk);
            if (junk.Length > 0 && i % 2 == 0) junk[0] = (byte)random.Next(20, 64);
            if (junk.Length > 13 && i % 4 == 0) { junk[1] = 0xfe; junk[2] = 0xfd; junk[3] = 0; junk[4] = 1; } // DTLS 1.2, epoch 1: reaches AES-GCM
            pair.Server.Deliver(junk);
        }
        pair.Client.Send("still here"u8);
        await Poll.UntilAsync(() => Volatile.Read(ref got) == 1, Deadline);
        Assert.True(pair.Server.IsOpen);
        Assert.True(pair.Server.DroppedDatagrams > 0);
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
            await Task.Delay(10);
        }
    }
}
