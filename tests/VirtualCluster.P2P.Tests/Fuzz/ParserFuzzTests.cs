using System.Net;
using System.Text;
using CsCheck;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.Signaling;
using VirtualCluster.P2P.Stun;
using VirtualCluster.P2P.Tests.Stun;
using VirtualCluster.P2P.Transport;
using VirtualCluster.P2P.Turn;

namespace VirtualCluster.P2P.Tests.Fuzz;

/// <summary>
/// Every parser gets random and mutated input: nothing may throw, and whatever parses must be self-consistent.
/// Allocation stays bounded because parsers only copy the input once (checked on the largest datagrams).
/// </summary>
public sealed class ParserFuzzTests
{
    private static readonly byte[][] Seeds =
    [
        Rfc5769VectorTests.SampleRequest,
        Rfc5769VectorTests.SampleIPv4Response,
        Rfc5769VectorTests.SampleIPv6Response,
        Rfc5769VectorTests.SampleLongTermRequest,
        new StunMessageBuilder(StunMethod.Allocate, StunClass.ErrorResponse, StunTransactionId.New())
            .AddErrorCode(401, "Unauthorized").Add(StunAttributeType.Realm, "vc").Add(StunAttributeType.Nonce, "abcdef")
            .AddUnknownAttributes([1, 2, 3]).AddFingerprintAndBuild(),
        new StunMessageBuilder(StunMethod.Data, StunClass.Indication, StunTransactionId.New())
            .AddXorAddress(StunAttributeType.XorPeerAddress, new IPEndPoint(IPAddress.Parse("2001:db8::1"), 9))
            .Add(StunAttributeType.Data, "payload"u8).Build(),
        ChannelData.Build(0x4000, "hello world"u8),
    ];

    /// <summary>A seed message with 1-8 random edits: byte overwrites, truncation, insertion.</summary>
    private static readonly Gen<byte[]> Mutated =
        Gen.Select(Gen.Int[0, Seeds.Length - 1], Gen.Select(Gen.Int[0, 2], Gen.Int[0, 200], Gen.Byte).Array[1, 8])
            .Select(t =>
            {
                var data = new List<byte>(Seeds[t.Item1]);
                foreach (var (kind, position, value) in t.Item2)
                {
                    var at = data.Count == 0 ? 0 : position % (data.Count + 1);
                    switch (kind)
                    {
                        case 0 when at < data.Count: data[at] = value; break;
                        case 1: data.RemoveRange(at, data.Count - at); break;
                        default: data.Insert(at, value); break;
                    }
                }
                return data.ToArray();
            });

    private static readonly Gen<byte[]> RandomBytes = Gen.Byte.Array[0, 300];

    /// <summary>Random bytes behind a valid STUN header, so the attribute walker is exercised, not just the header check.</summary>
    private static readonly Gen<byte[]> StunShaped = Gen.Byte.Array[0, 120].Select(body =>
    {
        var length = body.Length & ~3;
        var data = new byte[20 + length];
        data[1] = 1;
        data[2] = (byte)(length >> 8);
        data[3] = (byte)length;
        data[4] = 0x21; data[5] = 0x12; data[6] = 0xA4; data[7] = 0x42;
        body.AsSpan(0, length).CopyTo(data.AsSpan(20));
        return data;
    });

    private static readonly Gen<byte[]> AnyDatagram = Gen.OneOf(Mutated, RandomBytes, StunShaped);

    [Fact]
    public void Stun_parser_never_throws_and_accessors_are_safe()
    {
        var key = StunCredentials.ShortTermKey("VOkJxbRl1RmTxUk/WvJxBt");
        AnyDatagram.Sample(data =>
        {
            if (!StunMessage.TryParse(data, out var m)) return;
            Assert.Equal(data.Length, m.Raw.Length);
            foreach (var a in m.Attributes) Assert.InRange(a.Offset + a.Length, 0, data.Length);
            m.TryGetXorAddress(StunAttributeType.XorMappedAddress, out _);
            m.TryGetAddress(StunAttributeType.MappedAddress, out _);
            m.TryGetError(out _, out _);
            m.GetUnknownAttributes();
            m.GetString(StunAttributeType.Username);
            m.GetUInt32(StunAttributeType.Priority);
            m.GetUInt64(StunAttributeType.IceControlling);
            m.CheckFingerprint();
            m.VerifyIntegrity(key);
        }, iter: 20_000);
    }

    [Fact]
    public void ChannelData_parser_never_throws()
    {
        AnyDatagram.Sample(data =>
        {
            if (ChannelData.TryParse(data, out var channel, out var payload))
            {
                Assert.InRange(channel, ChannelData.MinChannel, ChannelData.MaxChannel);
                Assert.True(payload.Length <= data.Length - 4);
            }
        }, iter: 20_000);
    }

    [Fact]
    public void Packet_mux_drops_and_counts_every_malformed_datagram()
    {
        var time = TimeProvider.System;
        var socket = new RecordingSocket(time);
        var mux = new PacketMux(socket, new StunTransactionTable(time));
        var delivered = 0L;
        mux.StunReceived = (_, _) => delivered++;
        mux.DataReceived = (_, _) => delivered++;
        var sink = new CountingSink();
        var server = new IPEndPoint(IPAddress.Parse("203.0.113.1"), 3478);
        mux.RegisterTurnServer(server, sink);
        var count = 0L;
        Gen.Select(AnyDatagram, Gen.Bool).Sample(t =>
        {
            mux.OnDatagram(t.Item1, t.Item2 ? server : new IPEndPoint(IPAddress.Parse("198.51.100.2"), 9));
            count++;
        }, iter: 20_000, threads: 1); // the counters here are not thread-safe; the mux's are
        // every datagram is either delivered to a handler or dropped and counted: none is lost silently, nothing throws
        Assert.Equal(count, delivered + sink.Count + mux.DroppedPackets);
        Assert.True(mux.DroppedPackets > 0);
    }

    [Fact]
    public void Candidate_parser_never_throws_and_round_trips_what_it_accepts()
    {
        const string valid = "candidate:3 1 udp 16777215 203.0.113.1 50001 typ relay raddr 203.0.113.11 rport 40000 generation 0";
        var mutatedLine = Gen.Select(Gen.Int[0, 2], Gen.Int[0, 120], Gen.Char["0123456789 .:abcdefghijklmnoptyx/+-\u00e9\0"]).Array[1, 6]
            .Select(edits =>
            {
                var sb = new StringBuilder(valid);
                foreach (var (kind, position, c) in edits)
                {
                    var at = position % (sb.Length + 1);
                    if (kind == 0 && at < sb.Length) sb[at] = c;
                    else if (kind == 1) sb.Remove(at, Math.Min(3, sb.Length - at));
                    else sb.Insert(at, c);
                }
                return sb.ToString();
            });
        Gen.OneOf(mutatedLine, Gen.String).Sample(line =>
        {
            if (!IceCandidate.TryParse(line, out var c)) return;
            Assert.True(IceCandidate.TryParse(c.ToSdp(), out var again));
            Assert.Equal(c.ToSdp(), again.ToSdp());
        }, iter: 20_000);
    }

    [Fact]
    public void Signaling_parser_never_throws()
    {
        string[] seeds = ["{\"type\":\"offer\",\"ufrag\":\"abcd\",\"pwd\":\"0123456789012345678901\"}", "{\"type\":\"candidate\",\"candidate\":\"candidate:1 1 udp 1 10.0.0.1 1 typ host\"}", "{\"type\":\"end-of-candidates\"}"];
        var mutated = Gen.Select(Gen.Int[0, seeds.Length - 1], Gen.Int[0, 80], Gen.Char["{}[]\":,\\ a0"]).Select(t =>
        {
            var s = seeds[t.Item1];
            var at = t.Item2 % (s.Length + 1);
            return s[..at] + t.Item3 + s[Math.Min(s.Length, at + 1)..];
        });
        Gen.OneOf(mutated, Gen.String).Sample(json =>
        {
            if (SignalingMessage.TryParse(json, out var message)) Assert.True(message.HasRequiredFields());
        }, iter: 10_000);
    }

    [Fact]
    public void Largest_datagrams_are_parsed_with_bounded_allocation()
    {
        var body = new byte[65_532];
        for (var i = 0; i < body.Length; i += 4) { body[i] = 0x80; body[i + 1] = 0x99; } // 16383 empty unknown attributes
        var data = new byte[20 + body.Length - 16];
        data[1] = 1;
        var length = data.Length - 20;
        data[2] = (byte)(length >> 8);
        data[3] = (byte)length;
        data[4] = 0x21; data[5] = 0x12; data[6] = 0xA4; data[7] = 0x42;
        body.AsSpan(0, length).CopyTo(data.AsSpan(20));
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.True(StunMessage.TryParse(data, out var m));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(length / 4, m.Attributes.Count);
        Assert.True(allocated < 40 * data.Length, $"allocated {allocated} bytes for a {data.Length}-byte datagram");
    }

    private sealed class CountingSink : ITurnServerSink
    {
        public long Count { get; private set; }
        public void OnServerMessage(StunMessage message) => Count++;
        public void OnChannelData(ReadOnlySpan<byte> datagram) => Count++;
    }
}
