using VirtualCluster.P2P.Sctp;
using Xunit;

namespace VirtualCluster.P2P.Tests.Sctp;

public class Crc32cTests
{
    [Fact]
    public void Known_check_value_of_the_Castagnoli_polynomial()
    {
        // "123456789" -> 0xE3069283 (the catalogue's check value for CRC-32C)
        Assert.Equal(0xE3069283u, Crc32c.Compute("123456789"u8));
        Assert.Equal(0xE3069283u, Crc32c.ComputeWithTable("123456789"u8));
    }

    [Fact]
    public void Interleaved_blocks_give_the_same_crc_as_the_plain_table_at_every_length_and_alignment()
    {
        var random = new Random(11);
        var data = new byte[3 * 1024 * 3 + 700];
        random.NextBytes(data);
        for (var length = 0; length <= 4000; length++)
        {
            var offset = length % 7;
            var span = data.AsSpan(offset, length);
            Assert.True(Crc32c.ComputeWithTable(span) == Crc32c.Compute(span), $"length {length}, offset {offset}");
        }
        foreach (var length in new[] { 3 * 1024, 3 * 1024 + 3 * 128, 2 * 3 * 1024 + 5, data.Length - 1 })
            Assert.Equal(Crc32c.ComputeWithTable(data.AsSpan(1, length)), Crc32c.Compute(data.AsSpan(1, length)));
    }

    [Fact]
    public void Packet_checksum_treats_its_checksum_field_as_zero()
    {
        var packet = new byte[5000];
        new Random(3).NextBytes(packet);
        var zeroed = (byte[])packet.Clone();
        zeroed.AsSpan(8, 4).Clear();
        Assert.Equal(Crc32c.ComputeWithTable(zeroed), Crc32c.ComputePacket(packet));
    }
}
