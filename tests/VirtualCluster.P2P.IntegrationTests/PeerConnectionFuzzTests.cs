using System.Buffers.Binary;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.IntegrationTests.Infrastructure;
using VirtualCluster.P2P.PeerConnections;
using VirtualCluster.P2P.Sctp;
using Xunit.Abstractions;

namespace VirtualCluster.P2P.IntegrationTests;

/// <summary>
/// Hostile input at a live peer connection on real loopback sockets: datagrams from a stranger at its UDP port,
/// malformed DTLS records from the peer's own address (sent raw through the peer's ICE agent), and malformed SCTP
/// packets and DCEP messages inside valid DTLS records (sent through the peer's DTLS transport: a peer that completed
/// the handshake and then misbehaves). The victim never fails, its memory stays bounded, and the real channel keeps
/// carrying messages both ways (positive control: the drop counters show the hostile input arrived and was refused).
/// </summary>
public sealed class PeerConnectionFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Hostile_datagrams_records_and_packets_never_break_a_live_connection()
    {
        using var drops = new DropCounter();
        await using var pair = new PeerPair();
        var remote = new TaskCompletionSource<DataChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
        pair.Answerer.DataChannel += c => { if (c.Label == "real") remote.TrySetResult(c); };
        await pair.NegotiateAsync();
        var real = pair.Offerer.CreateDataChannel("real");
        await real.WaitForOpenAsync().WaitAsync(TimeSpan.FromSeconds(20));
        var victimChannel = await remote.Task.WaitAsync(TimeSpan.FromSeconds(20));
        var toVictim = Inbox(victimChannel);
        var toOfferer = Inbox(real);
        await RoundTripAsync(real, victimChannel, toVictim, toOfferer, "before");
        var victim = pair.Answerer;
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        var random = new Random(7);

        // 1. a stranger at the victim's port: random datagrams, STUN-, DTLS- and ChannelData-shaped
        using (var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            stranger.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var target = victim.Ice!.SelectedPair!.Local.EndPoint;
            for (var i = 0; i < 20_000; i++) stranger.SendTo(RandomDatagram(random, first: (byte)random.Next(0, 256)), target);
        }

        await AliveAsync(pair, "a stranger's datagrams", real, victimChannel, toVictim, toOfferer);

        // 2. the peer's own address, malformed DTLS records: bad versions, epochs, lengths, bodies (first byte 20-63)
        for (var i = 0; i < 20_000; i++)
        {
            var record = RandomDatagram(random, first: (byte)random.Next(20, 64));
            if (record.Length >= 13 && random.Next(2) == 0)
            {
                record[1] = 0xFE;
                record[2] = 0xFD;
                BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(3), (ushort)random.Next(0, 3)); // epoch
                BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(11), (ushort)random.Next(0, 2 * record.Length)); // length, often wrong
            }
            pair.Offerer.Ice!.Send(record);
        }

        await AliveAsync(pair, "malformed DTLS records", real, victimChannel, toVictim, toOfferer);

        // 3. inside valid DTLS records: SCTP packets with bad checksums, wrong tags, malformed chunks, out-of-window
        //    TSNs, an INIT flood, and DCEP garbage on fresh streams
        var dtls = pair.Offerer.Dtls!;
        var tag = victim.Sctp!.LocalVerificationTag;
        var limit = dtls.MaxPacketSize;
        for (var i = 0; i < 3_000; i++)
        {
            dtls.Send(RandomDatagram(random, first: (byte)random.Next(0, 256), max: limit)); // random bytes
            var badCrc = Sctp(tag, Chunk(0, 3, RandomData(random, 32)));
            badCrc[8] ^= 0xFF;
            dtls.Send(badCrc);
            dtls.Send(Sctp(tag ^ 1, Chunk(0, 3, DataValue(random, (uint)random.Next(), 1, 53, RandomData(random, 16))))); // wrong tag
            dtls.Send(Sctp(tag, MangledChunk(random))); // valid checksum and tag, lengths and contents wrong
            dtls.Send(Sctp(tag, Chunk(0, 3, DataValue(random, (uint)random.Next(), (ushort)random.Next(0, 1024), 53, RandomData(random, 100))))); // TSN anywhere
            dtls.Send(Sctp(0, Chunk(1, 0, InitValue(random)))); // INIT flood on the established association
            dtls.Send(Sctp(tag, Chunk(0, 3, DataValue(random, (uint)random.Next(), (ushort)(random.Next(0, 512) * 2 + 1), 50, RandomData(random, random.Next(0, 64)))))); // DCEP garbage
        }

        await RoundTripAsync(real, victimChannel, toVictim, toOfferer, "after");
        Assert.Equal(PeerConnectionState.Connected, victim.ConnectionState);
        Assert.Equal(PeerConnectionState.Connected, pair.Offerer.ConnectionState);
        var growth = GC.GetTotalMemory(forceFullCollection: true) - baseline;
        output.WriteLine($"memory growth {growth / 1024} KiB; dropped: {drops}");
        Assert.True(growth < 32L << 20, $"memory grew by {growth >> 20} MiB");
        // positive control: each kind of hostile input reached its layer and was refused there
        Assert.True(drops.Count("unexpected") > 1_000, drops.ToString());
        Assert.True(drops.CountPrefix("sctp-") > 3_000, drops.ToString());
    }

    /// <summary>
    /// Both sides still connected after a phase (what broke is named if not). The round trip first: the victim's
    /// receive path is in order, so once the message is through, everything sent before it has been handled.
    /// </summary>
    private static async Task AliveAsync(PeerPair pair, string phase, DataChannel a, DataChannel b, ChannelReader<string> toB, ChannelReader<string> toA)
    {
        try
        {
            await RoundTripAsync(a, b, toB, toA, phase);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            // the state check below says what broke
        }
        Assert.True(pair.Answerer.ConnectionState == PeerConnectionState.Connected && pair.Offerer.ConnectionState == PeerConnectionState.Connected,
            $"after {phase}: victim {pair.Answerer.ConnectionState} ({pair.Answerer.FailureReason}), peer {pair.Offerer.ConnectionState} ({pair.Offerer.FailureReason})");
    }

    private static async Task RoundTripAsync(DataChannel a, DataChannel b, ChannelReader<string> toB, ChannelReader<string> toA, string text)
    {
        a.Send(text);
        Assert.Equal(text, await toB.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20)));
        b.Send(text + " back");
        Assert.Equal(text + " back", await toA.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20)));
    }

    private static ChannelReader<string> Inbox(DataChannel channel)
    {
        var inbox = System.Threading.Channels.Channel.CreateUnbounded<string>();
        channel.MessageReceived += (_, data, _) => inbox.Writer.TryWrite(Encoding.UTF8.GetString(data));
        return inbox.Reader;
    }

    private static byte[] RandomDatagram(Random random, byte first, int max = 1500)
    {
        var bytes = new byte[random.Next(1, max + 1)];
        random.NextBytes(bytes);
        bytes[0] = first;
        return bytes;
    }

    private static byte[] RandomData(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Chunk(byte type, byte flags, byte[] value)
    {
        var chunk = new byte[(4 + value.Length + 3) & ~3];
        chunk[0] = type;
        chunk[1] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(2), (ushort)(4 + value.Length));
        value.CopyTo(chunk, 4);
        return chunk;
    }

    // Chunk types whose well-formed versions do not change the association by design: not ABORT 6, SHUTDOWN 7,
    // SHUTDOWN-ACK 8, SHUTDOWN-COMPLETE 14 (they end it), RE-CONFIG 130 (resets the peer's own streams) or FORWARD-TSN
    // 192 (skips the peer's own TSNs). The peer may do those to its own association; the unit tests fuzz them.
    private static readonly byte[] Types = [0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 15, 63, 127, 128, 193, 255];

    private static byte[] MangledChunk(Random random)
    {
        var chunk = Chunk(Types[random.Next(Types.Length)], (byte)random.Next(256), RandomData(random, random.Next(0, 80)));
        BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(2), (ushort)random.Next(0, 200)); // a length that lies
        return chunk;
    }

    private static byte[] DataValue(Random random, uint tsn, ushort stream, uint ppid, byte[] payload)
    {
        var value = new byte[12 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(value, tsn);
        BinaryPrimitives.WriteUInt16BigEndian(value.AsSpan(4), stream);
        BinaryPrimitives.WriteUInt16BigEndian(value.AsSpan(6), (ushort)random.Next(0, 65536));
        BinaryPrimitives.WriteUInt32BigEndian(value.AsSpan(8), ppid);
        payload.CopyTo(value, 12);
        return value;
    }

    private static byte[] InitValue(Random random)
    {
        var value = new byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(value, (uint)random.Next(1, int.MaxValue)); // initiate tag
        BinaryPrimitives.WriteUInt32BigEndian(value.AsSpan(4), 1 << 20); // a_rwnd
        BinaryPrimitives.WriteUInt16BigEndian(value.AsSpan(8), 1024);
        BinaryPrimitives.WriteUInt16BigEndian(value.AsSpan(10), 1024);
        BinaryPrimitives.WriteUInt32BigEndian(value.AsSpan(12), (uint)random.Next());
        return value;
    }

    private static byte[] Sctp(uint tag, byte[] chunk)
    {
        var packet = new byte[12 + chunk.Length];
        BinaryPrimitives.WriteUInt16BigEndian(packet, 5000);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), 5000);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(4), tag);
        chunk.CopyTo(packet, 12);
        BinaryPrimitives.WriteUInt32LittleEndian(packet.AsSpan(8), Crc32c.ComputePacket(packet));
        return packet;
    }

    /// <summary>Sums vcluster.p2p.packets.dropped by reason while the test runs.</summary>
    private sealed class DropCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Dictionary<string, long> _byReason = [];

        public DropCounter()
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "VirtualCluster.P2P" && instrument.Name == "vcluster.p2p.packets.dropped") l.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                var reason = "?";
                foreach (var t in tags) if (t.Key == "reason") reason = t.Value?.ToString() ?? "?";
                lock (_byReason) _byReason[reason] = _byReason.GetValueOrDefault(reason) + value;
            });
            _listener.Start();
        }

        public long Count(string reason)
        {
            lock (_byReason) return _byReason.GetValueOrDefault(reason);
        }

        public long CountPrefix(string prefix)
        {
            lock (_byReason) return _byReason.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(kv => kv.Value);
        }

        public long Total
        {
            get { lock (_byReason) return _byReason.Values.Sum(); }
        }

        public override string ToString()
        {
            lock (_byReason) return string.Join(", ", _byReason.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value}"));
        }

        public void Dispose() => _listener.Dispose();
    }
}
