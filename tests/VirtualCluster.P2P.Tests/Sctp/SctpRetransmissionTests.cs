using System.Buffers.Binary;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.Sctp;
using Xunit;

namespace VirtualCluster.P2P.Tests.Sctp;

/// <summary>How often lost DATA is sent again: once per loss, not once per SACK that arrives while the retransmission travels.</summary>
public sealed class SctpRetransmissionTests
{
    [Fact]
    public async Task Each_lost_chunk_is_retransmitted_about_once_even_when_many_sacks_arrive_per_round_trip()
    {
        // 2 % of A's DATA-carrying packets lost (counted chunk by chunk), 5 ms each way: about 40 SACKs arrive per round
        // trip, all of them for chunks sent before a retransmission; none of those may count as a miss for it.
        var random = new Random(5);
        long droppedChunks = 0;
        await using var pair = await SctpPair.ConnectAsync(configure: l =>
        {
            l.Latency = TimeSpan.FromMilliseconds(5);
            l.Filter = (end, packet) =>
            {
                if (end.Name != "A") return true;
                var chunks = DataChunks(packet.Span);
                if (chunks == 0 || random.NextDouble() >= 0.02) return true;
                Interlocked.Add(ref droppedChunks, chunks);
                return false;
            };
        });
        var (a, b) = await pair.OpenAsync("bulk");
        const int total = 8 << 20;
        long received = 0;
        b.MessageReceived += (_, data, _) => Interlocked.Add(ref received, data.Length);
        var message = new byte[64 * 1024];
        var low = new SemaphoreSlim(0);
        a.BufferedAmountLowThreshold = 1 << 20;
        a.BufferedAmountLow += _ => low.Release();
        for (var sent = 0; sent < total; sent += message.Length)
        {
            while (a.BufferedAmount > 2 << 20) await low.WaitAsync(20);
            a.Send(message);
        }
        await Eventually.TrueAsync(() => Interlocked.Read(ref received) == total, "B receives all 8 MiB", TimeSpan.FromMinutes(2));

        var dropped = Interlocked.Read(ref droppedChunks);
        Assert.True(dropped >= 50, $"only {dropped} DATA chunks were dropped: loss was not exercised");
        // A lost retransmission or a T3 timeout adds a few; the old miss counting retransmitted each hole several times.
        Assert.True(pair.A.RetransmittedChunks <= dropped * 1.25 + 20,
            $"{pair.A.RetransmittedChunks} chunks retransmitted for {dropped} lost (fast retransmits {pair.A.FastRetransmits}, T3 {pair.A.RetransmissionTimeouts})");
        Assert.True(pair.A.RetransmittedChunks >= dropped, $"{pair.A.RetransmittedChunks} retransmitted, fewer than the {dropped} lost");
    }

    /// <summary>DATA chunks (type 0) in an SCTP packet: the 12-byte common header, then chunks padded to 4 bytes.</summary>
    private static int DataChunks(ReadOnlySpan<byte> packet)
    {
        var count = 0;
        for (var o = 12; o + 4 <= packet.Length;)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(packet[(o + 2)..]);
            if (length < 4) break;
            if (packet[o] == 0) count++;
            o += (length + 3) & ~3;
        }
        return count;
    }
}
