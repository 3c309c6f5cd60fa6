using System.IO.Hashing;
using VirtualCluster.Replication.Wire;

namespace VirtualCluster.Replication.Delta;

/// <summary>
/// The signature of a basis file: for each block of <see cref="BlockLength"/> bytes (the last may be shorter) the
/// rolling weak checksum and a 64-bit XXH3 strong hash. A false match needs both 32 and 64 bits to collide, and even
/// then the SHA-256 of the whole file that every delta carries refuses the result. 12 bytes per block.
/// </summary>
public sealed class Signature
{
    internal const uint Magic = 0x31475356; // "VSG1"

    internal Signature(int blockLength, long length, uint[] weak, ulong[] strong)
    {
        BlockLength = blockLength;
        Length = length;
        Weak = weak;
        Strong = strong;
    }

    /// <summary>Length of each block but the last.</summary>
    public int BlockLength { get; }

    /// <summary>Length of the basis file.</summary>
    public long Length { get; }

    /// <summary>Number of blocks.</summary>
    public int BlockCount => Weak.Length;

    internal uint[] Weak { get; }

    internal ulong[] Strong { get; }

    /// <summary>Bytes this signature takes on the wire.</summary>
    public long WireLength => 16 + 12L * BlockCount;

    internal static ulong StrongHash(ReadOnlySpan<byte> block) => XxHash3.HashToUInt64(block);

    /// <summary>Computes the signature of <paramref name="basis"/>, read once from its position to its end.</summary>
    public static async Task<Signature> ComputeAsync(Stream basis, int blockLength, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockLength, 16);
        var builder = new SignatureBuilder(blockLength);
        var buffer = new byte[Math.Max(blockLength, 256 * 1024)];
        int read;
        while ((read = await basis.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0) builder.Append(buffer.AsSpan(0, read));
        return builder.Build();
    }

    /// <summary>Computes the signature of <paramref name="basis"/> synchronously, read once from its position to its end.</summary>
    public static Signature Compute(Stream basis, int blockLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockLength, 16);
        var builder = new SignatureBuilder(blockLength);
        var buffer = new byte[Math.Max(blockLength, 256 * 1024)];
        int read;
        while ((read = basis.Read(buffer)) > 0) builder.Append(buffer.AsSpan(0, read));
        return builder.Build();
    }

    /// <summary>Computes the signature of a file with the block length <see cref="BlockSize.For"/> chooses.</summary>
    public static async Task<Signature> ComputeAsync(string path, CancellationToken cancellationToken = default)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
        return await ComputeAsync(file, BlockSize.For(file.Length), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the signature in its wire format.</summary>
    public void WriteTo(Stream output)
    {
        var writer = new WireWriter(output);
        Write(writer);
        writer.FlushBuffer();
    }

    internal void Write(WireWriter writer)
    {
        writer.Varint(Magic);
        writer.Varint((ulong)BlockLength);
        writer.Varint(Length);
        Span<byte> entry = stackalloc byte[12];
        for (var i = 0; i < BlockCount; i++)
        {
            BitConverter.TryWriteBytes(entry, Weak[i]);
            BitConverter.TryWriteBytes(entry[4..], Strong[i]);
            writer.Bytes(entry);
        }
    }

    /// <summary>Reads a signature, refusing one that is truncated or out of bounds.</summary>
    public static Signature ReadFrom(Stream input) => Read(new WireReader(input, "signature"));

    internal static Signature Read(WireReader reader)
    {
        if (reader.Varint("signature magic", uint.MaxValue) != Magic) throw reader.Corrupt("it does not start with the signature magic");
        var blockLength = reader.Int("block length", 16 * 1024 * 1024);
        if (blockLength < 16) throw reader.Corrupt($"block length {blockLength} is below 16");
        var length = reader.Long("basis length", long.MaxValue / 2);
        var count = (length + blockLength - 1) / blockLength;
        if (count > 64 * 1024 * 1024) throw reader.Corrupt($"{count} blocks is more than the limit of 64 Mi blocks");
        var weak = new uint[count];
        var strong = new ulong[count];
        Span<byte> entry = stackalloc byte[12];
        for (var i = 0; i < count; i++)
        {
            reader.Bytes(entry, $"block {i}");
            weak[i] = BitConverter.ToUInt32(entry);
            strong[i] = BitConverter.ToUInt64(entry[4..]);
        }
        return new Signature(blockLength, length, weak, strong);
    }
}

/// <summary>Builds a signature from bytes appended in order, so a file is signed in the same pass that reads it.</summary>
internal sealed class SignatureBuilder(int blockLength)
{
    private readonly byte[] _partial = new byte[blockLength];
    private readonly List<uint> _weak = [];
    private readonly List<ulong> _strong = [];
    private int _partialLength;
    private long _length;

    public int BlockLength => blockLength;

    /// <summary>True when the bytes so far end on a block boundary.</summary>
    public bool AtBoundary => _partialLength == 0;

    /// <summary>Adds a whole block whose checksums are already known (a copied basis block with the same length).</summary>
    public void AppendKnown(uint weak, ulong strong, int length)
    {
        _length += length;
        _weak.Add(weak);
        _strong.Add(strong);
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        _length += data.Length;
        if (_partialLength > 0)
        {
            var n = Math.Min(data.Length, blockLength - _partialLength);
            data[..n].CopyTo(_partial.AsSpan(_partialLength));
            _partialLength += n;
            data = data[n..];
            if (_partialLength < blockLength) return;
            Add(_partial);
            _partialLength = 0;
        }
        while (data.Length >= blockLength)
        {
            Add(data[..blockLength]);
            data = data[blockLength..];
        }
        data.CopyTo(_partial);
        _partialLength = data.Length;
    }

    private void Add(ReadOnlySpan<byte> block)
    {
        _weak.Add(RollingChecksum.Of(block));
        _strong.Add(Signature.StrongHash(block));
    }

    public Signature Build()
    {
        if (_partialLength > 0) Add(_partial.AsSpan(0, _partialLength));
        _partialLength = 0;
        return new Signature(blockLength, _length, [.. _weak], [.. _strong]);
    }
}
