using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;

namespace VirtualCluster.P2P.Sctp;

/// <summary>
/// CRC32c (Castagnoli, reflected polynomial 0x82F63B78), the SCTP checksum (RFC 9260 appendix A). Uses the SSE4.2
/// CRC32 instruction when the CPU has it (about 20x faster than a table), a table otherwise.
/// </summary>
internal static class Crc32c
{
    private static readonly uint[] Table = BuildTable();

    /// <summary>The CRC32c of <paramref name="data"/> (initial value and final xor 0xFFFFFFFF).</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Update(0xFFFFFFFF, data);

    /// <summary>The checksum of an SCTP packet as if its checksum field (bytes 8-11) were zero.</summary>
    public static uint ComputePacket(ReadOnlySpan<byte> packet)
    {
        var crc = Update(0xFFFFFFFF, packet[..8]);
        crc = Update(crc, [0, 0, 0, 0]);
        return ~Update(crc, packet[12..]);
    }

    private static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        if (Sse42.X64.IsSupported)
        {
            ulong c = crc;
            while (data.Length >= 8)
            {
                c = Sse42.X64.Crc32(c, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }
            crc = (uint)c;
        }
        if (Sse42.IsSupported)
        {
            foreach (var b in data) crc = Sse42.Crc32(crc, b);
            return crc;
        }
        foreach (var b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0x82F63B78 ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        return table;
    }
}
