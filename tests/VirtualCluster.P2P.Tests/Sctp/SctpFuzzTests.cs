using System.Buffers.Binary;
using System.Text;
using CsCheck;
using VirtualCluster.P2P.Sctp;
using Xunit;
using static VirtualCluster.P2P.Tests.Sctp.SctpAssociationTests;

namespace VirtualCluster.P2P.Tests.Sctp;

/// <summary>
/// Hostile packets straight into an established association's receive path: nothing may throw, the association
/// stays usable (checked by a message afterwards), and what it holds stays within its configured bounds.
/// </summary>
[Collection(MemoryMeasurementCollection.Name)]
public sealed class SctpFuzzTests
{
    // ABORT and the SHUTDOWN family legitimately end an association; they get their own test.
    private static readonly byte[] ChunkTypes = [0, 0, 0, 3, 3, 4, 5, 9, 10, 11, 1, 2, 130, 130, 192, 192, 63, 127, 200, 255];

    private static byte[] Packet(uint tag, params (byte Type, byte Flags, byte[] Value, int LengthDelta)[] chunks)
    {
        var buffer = new byte[65536];
        var w = new PacketWriter(buffer, buffer.Length, 5000, 5000, tag);
        foreach (var (type, flags, value, delta) in chunks)
        {
            var v = w.BeginChunk(type, flags);
            value.CopyTo(v);
            w.EndChunk(value.Length);
            if (delta != 0)
            {
                var start = w.Length - ((4 + value.Length + 3) & ~3);
                BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(start + 2), (ushort)Math.Clamp(4 + value.Length + delta, 0, 65535));
            }
        }
        return w.Finish().ToArray();
    }

    private static readonly Gen<(byte, byte, byte[], int)> AnyChunk =
        Gen.Select(Gen.Int[0, ChunkTypes.Length - 1], Gen.Byte, Gen.Byte.Array[0, 64], Gen.Frequency((8, Gen.Const(0)), (1, Gen.Int[-8, 8])))
            .Select((t, f, v, d) => (ChunkTypes[t], f, v, d));

    [Fact]
    public async Task Malformed_chunks_with_valid_checksum_and_tag_never_throw_and_leave_the_association_usable()
    {
        await using var pair = await SctpPair.ConnectAsync();
        var (a, b) = await pair.OpenAsync("victim");
        var tag = pair.B.LocalVerificationTag;
        var receive = pair.Link.B.Received!;
        AnyChunk.Array[1, 6].Sample(chunks => receive(Packet(tag, chunks)), iter: 5000, threads: 1);
        Gen.Byte.Array[0, 1500].Sample(bytes => receive(bytes), iter: 3000, threads: 1);
        Gen.Byte.Array[12, 300].Sample(bytes =>
        {
            // Random bodies with a valid common header and checksum.
            BinaryPrimitives.WriteUInt16BigEndian(bytes, 5000);
            BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), 5000);
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4), tag);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), Crc32c.ComputePacket(bytes));
            if (!EndsAssociation(bytes)) receive(bytes);
        }, iter: 3000, threads: 1);

        Assert.True(pair.B.State == SctpAssociationState.Open, $"B ended: {pair.B.CloseReason}");
        var holdings = pair.B.Holdings;
        Assert.InRange(holdings.HeldForReassembly, 0, new SctpOptions().ReceiveWindow);
        var inbox = CreateInbox(a);
        b.Send("still alive");
        Assert.Equal("still alive", Encoding.UTF8.GetString((await Take(inbox)).Data));
    }

    /// <summary>Whether a packet holds ABORT or a SHUTDOWN chunk, which end an association by design.</summary>
    private static bool EndsAssociation(byte[] packet)
    {
        var reader = new ChunkReader(packet.AsSpan(12));
        while (reader.Next(out var chunk))
            if (chunk.Type is 6 or 7 or 8 or 14) return true;
        return false;
    }

    [Fact]
    public async Task Bad_checksums_and_wrong_tags_are_dropped_before_anything_is_parsed()
    {
        await using var pair = await SctpPair.ConnectAsync();
        var (a, b) = await pair.OpenAsync("c");
        var inbox = CreateInbox(b);
        var tag = pair.B.LocalVerificationTag;
        var abort = Packet(tag, (6, 0, [], 0));
        var badCrc = (byte[])abort.Clone();
        badCrc[8] ^= 0xFF;
        pair.Link.B.Received!(badCrc);
        pair.Link.B.Received!(Packet(tag ^ 1, (6, 0, [], 0))); // wrong verification tag
        a.Send("after");
        Assert.Equal("after", Encoding.UTF8.GetString((await Take(inbox)).Data));
        Assert.Equal(SctpAssociationState.Open, pair.B.State);
        pair.Link.B.Received!(abort); // positive control: the same ABORT, intact, does end it
        Assert.Equal(SctpAssociationState.Closed, pair.B.State);
    }

    [Fact]
    public async Task Out_of_window_and_duplicate_tsns_hold_no_memory()
    {
        await using var pair = await SctpPair.ConnectAsync();
        var (a, b) = await pair.OpenAsync("w");
        var tag = pair.B.LocalVerificationTag;
        var rnd = new Random(4);
        for (var i = 0; i < 20_000; i++)
        {
            var value = new byte[12 + 100];
            BinaryPrimitives.WriteUInt32BigEndian(value, (uint)rnd.NextInt64(0, uint.MaxValue)); // mostly far outside the window
            BinaryPrimitives.WriteUInt16BigEndian(value.AsSpan(4), 999);
            BinaryPrimitives.WriteUInt32BigEndian(value.AsSpan(8), 53);
            pair.Link.B.Received!(Packet(tag, (0, 2, value, 0))); // B flag only: a message that never completes
        }
        // In-window ones (a handful at most) are bounded by the window; nothing else is kept.
        Assert.InRange(pair.B.Holdings.HeldForReassembly, 0, 8192 * 100);
        var inbox = CreateInbox(a);
        b.Send("ok");
        Assert.Equal("ok", Encoding.UTF8.GetString((await Take(inbox)).Data));
    }

    [Fact]
    public async Task An_init_flood_is_answered_statelessly_and_costs_no_memory()
    {
        await using var pair = new SctpPair(); // B never started: every INIT gets a cookie, nothing is stored
        var init = new byte[16 + 8];
        var received = 0;
        pair.Link.Filter = (end, _) => { if (end == pair.Link.B) Interlocked.Increment(ref received); return false; };
        void Flood(int count)
        {
            for (var i = 0; i < count; i++)
            {
                BinaryPrimitives.WriteUInt32BigEndian(init, (uint)i + 1);
                BinaryPrimitives.WriteUInt32BigEndian(init.AsSpan(4), 65536);
                BinaryPrimitives.WriteUInt16BigEndian(init.AsSpan(8), 10);
                BinaryPrimitives.WriteUInt16BigEndian(init.AsSpan(10), 10);
                BinaryPrimitives.WriteUInt32BigEndian(init.AsSpan(12), (uint)i);
                pair.Link.B.Received!(Packet(0, (1, 0, init, 0)));
            }
        }
        Flood(5_000); // warm up pools and JIT
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        Flood(50_000);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.True(Volatile.Read(ref received) >= 55_000, $"only {received} INIT-ACKs were sent"); // every INIT was answered
        Assert.True(after - before < 2_000_000, $"memory grew by {after - before} bytes over 50000 INITs");
        Assert.Equal(SctpAssociationState.New, pair.B.State);
        Assert.Equal((0, 0L, 0L, 0, 0), pair.B.Holdings);
    }

    [Fact]
    public void Crc32c_matches_the_rfc_3720_vectors()
    {
        Assert.Equal(0x8A9136AAu, Crc32c.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32c.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, Crc32c.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
        Assert.Equal(0xE3069283u, Crc32c.Compute("123456789"u8));
    }
}
