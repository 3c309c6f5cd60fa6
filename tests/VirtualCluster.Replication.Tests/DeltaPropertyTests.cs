using CsCheck;
using VirtualCluster.Replication.Delta;

namespace VirtualCluster.Replication.Tests;

public sealed class DeltaPropertyTests
{
    /// <summary>An edit: 0 overwrite, 1 insert, 2 delete, at a position (fraction of the length) with a length.</summary>
    private static readonly Gen<(byte Kind, double At, int Length, byte Seed)[]> Edits =
        Gen.Select(Gen.Byte[0, 2], Gen.Double[0, 1], Gen.Int[1, 3000], Gen.Byte).Array[0, 6];

    internal static byte[] Random(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static byte[] Apply(byte[] basis, (byte Kind, double At, int Length, byte Seed)[] edits)
    {
        var data = basis.ToList();
        foreach (var (kind, at, length, seed) in edits)
        {
            var position = (int)(at * data.Count);
            var fresh = Random(length, seed);
            switch (kind)
            {
                case 0: for (var i = 0; i < length && position + i < data.Count; i++) data[position + i] = fresh[i]; break;
                case 1: data.InsertRange(position, fresh); break;
                default: data.RemoveRange(position, Math.Min(length, data.Count - position)); break;
            }
        }
        return [.. data];
    }

    internal static byte[] RoundTrip(byte[] basis, byte[] target, int blockLength, bool compress, out long deltaLength)
    {
        var signature = Signature.ComputeAsync(new MemoryStream(basis), blockLength).GetAwaiter().GetResult();
        var wire = new MemoryStream();
        var reread = Signature.ReadFrom(new MemoryStream(SignatureBytes(signature)));
        if (compress)
        {
            using var output = DeltaCompression.Compress(wire, 1);
            new DeltaWriter(reread).Write(new MemoryStream(target), output);
        }
        else new DeltaWriter(reread).Write(new MemoryStream(target), wire);
        deltaLength = wire.Length;
        var rebuilt = new MemoryStream();
        var input = new MemoryStream(wire.ToArray());
        DeltaPatcher.Apply(compress ? DeltaCompression.Decompress(input) : input, new MemoryStream(basis), rebuilt);
        return rebuilt.ToArray();
    }

    private static byte[] SignatureBytes(Signature signature)
    {
        var stream = new MemoryStream();
        signature.WriteTo(stream);
        return stream.ToArray();
    }

    [Fact]
    public void Random_files_with_random_edits_round_trip_byte_for_byte()
    {
        Gen.Select(Gen.Int[0, 60_000], Gen.Int, Edits, Gen.Int[16, 2048], Gen.Bool).Sample((length, seed, edits, blockLength, compress) =>
        {
            var basis = Random(length, seed);
            var target = Apply(basis, edits);
            var rebuilt = RoundTrip(basis, target, blockLength, compress, out _);
            Assert.Equal(target, rebuilt);
        }, iter: 300);
    }

    [Fact]
    public void Unrelated_and_repetitive_files_round_trip()
    {
        Gen.Select(Gen.Int[0, 20_000], Gen.Int[0, 20_000], Gen.Byte[1, 4], Gen.Int[16, 512]).Sample((basisLength, targetLength, period, blockLength) =>
        {
            // Low-entropy data makes long weak-checksum chains and many equal blocks.
            var basis = Enumerable.Range(0, basisLength).Select(i => (byte)(i % period)).ToArray();
            var target = Enumerable.Range(0, targetLength).Select(i => (byte)((i / 7) % period)).ToArray();
            Assert.Equal(target, RoundTrip(basis, target, blockLength, false, out _));
            Assert.Equal(basis, RoundTrip(target, basis, blockLength, true, out _));
        }, iter: 100);
    }

    [Fact]
    public void The_target_signature_made_while_diffing_equals_one_computed_afresh()
    {
        // Copied blocks on a block boundary reuse the basis's checksums; the result must be the target's true signature.
        Gen.Select(Gen.Int[0, 60_000], Gen.Int, Edits, Gen.Int[16, 1024], Gen.Int[-1024, 1024]).Sample((length, seed, edits, basisBlock, other) =>
        {
            var targetBlock = other < 16 ? basisBlock : other; // the same block length half the time: the reuse path
            var basis = Random(length, seed);
            var target = Apply(basis, edits);
            var builder = new SignatureBuilder(targetBlock);
            new DeltaWriter(Signature.Compute(new MemoryStream(basis), basisBlock)).Write(new MemoryStream(target), new MemoryStream(), builder);
            var made = builder.Build();
            var fresh = Signature.Compute(new MemoryStream(target), targetBlock);
            Assert.Equal(fresh.Length, made.Length);
            Assert.Equal(fresh.Weak, made.Weak);
            Assert.Equal(fresh.Strong, made.Strong);
        }, iter: 300);
    }

    [Fact]
    public void Empty_basis_and_empty_target_round_trip()
    {
        var data = Random(5000, 1);
        Assert.Equal(data, RoundTrip([], data, 700, true, out _));
        Assert.Empty(RoundTrip(data, [], 700, true, out _));
        Assert.Empty(RoundTrip([], [], 700, false, out _));
    }

    [Fact]
    public void A_small_edit_of_a_large_file_makes_a_small_delta()
    {
        var basis = Random(4 * 1024 * 1024, 7);
        var target = (byte[])basis.Clone();
        Random(100, 8).CopyTo(target, 1_234_567);
        var blockLength = BlockSize.For(basis.Length);
        Assert.Equal(target, RoundTrip(basis, target, blockLength, true, out var deltaLength));
        // Two blocks of literal at most, plus the framing and the hash: under 2 % of a whole-file send.
        Assert.True(deltaLength < 2 * blockLength + 200, $"delta of {deltaLength} bytes for a 100-byte edit (blocks of {blockLength})");

        var inserted = basis.Take(3_000_000).Concat(Random(10, 9)).Concat(basis.Skip(3_000_000)).ToArray();
        Assert.Equal(inserted, RoundTrip(basis, inserted, blockLength, true, out deltaLength));
        Assert.True(deltaLength < 2 * blockLength + 200, $"delta of {deltaLength} bytes for a 10-byte insert");
    }

    [Fact]
    public void Block_size_follows_rsync()
    {
        Assert.Equal(700, BlockSize.For(0));
        Assert.Equal(700, BlockSize.For(490_000));
        Assert.Equal(1024, BlockSize.For(1024 * 1024));
        Assert.Equal(128 * 1024, BlockSize.For(1L << 40));
        Assert.Equal(0, BlockSize.For(5_000_000) % 8);
    }
}
