using System.Buffers;
using System.Security.Cryptography;
using VirtualCluster.Replication.Wire;

namespace VirtualCluster.Replication.Delta;

/// <summary>
/// Rebuilds a target from a basis and a delta, checking every operation against the basis (block numbers in range,
/// literal lengths bounded) and the result against the SHA-256 the delta ends with. Any failure is a
/// <see cref="ReplicationException"/>; the output is then incomplete and must be discarded
/// (<see cref="PatchFile"/> does that for files, so the target is never touched).
/// </summary>
public static class DeltaPatcher
{
    /// <summary>Applies <paramref name="delta"/> to <paramref name="basis"/> (seekable; null when the delta needs none), writing to <paramref name="output"/>.</summary>
    public static DeltaStats Apply(Stream delta, Stream? basis, Stream output)
    {
        var stats = Apply(new WireReader(delta, "delta"), basis, output);
        EnsureEnded(delta);
        return stats;
    }

    // A whole delta ends at its END: anything after it (or a compressed stream's damaged end marker, which reading
    // on decodes) is damage, even when the rebuilt file matched its hash.
    private static void EnsureEnded(Stream delta)
    {
        if (delta.ReadByte() >= 0) throw new ReplicationException("the delta is corrupt: bytes follow its END; sync again");
    }

    internal static DeltaStats Apply(WireReader reader, Stream? basis, Stream output)
    {
        if (reader.Varint("delta magic", uint.MaxValue) != DeltaFormat.Magic) throw reader.Corrupt("it does not start with the delta magic");
        var blockLength = reader.Int("block length", 16 * 1024 * 1024);
        var basisLength = basis?.Length ?? 0;
        if (blockLength > 0 && basis is null) throw new ReplicationException("the delta copies from a basis but the receiver has none; sync again so the sender sends the whole file");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(blockLength, 64 * 1024));
        long written = 0, literal = 0, copied = 0;
        try
        {
            while (true)
            {
                var op = reader.Byte("an operation");
                switch (op)
                {
                    case DeltaFormat.Copy:
                    {
                        if (blockLength == 0) throw reader.Corrupt("a COPY in a delta without a basis");
                        var first = reader.Long("COPY first block", long.MaxValue / 2);
                        var count = reader.Long("COPY block count", long.MaxValue / 2);
                        var from = first * blockLength;
                        var to = Math.Min((first + count) * blockLength, basisLength);
                        if (count == 0 || from >= basisLength || (first + count - 1) * blockLength >= basisLength)
                            throw reader.Corrupt($"COPY of blocks {first}..{first + count - 1} is beyond the basis of {basisLength} bytes (blocks of {blockLength}); the basis changed since its signature was taken");
                        basis!.Position = from;
                        for (var left = to - from; left > 0;)
                        {
                            var n = (int)Math.Min(left, buffer.Length);
                            basis.ReadExactly(buffer, 0, n);
                            Write(output, hash, buffer.AsSpan(0, n));
                            left -= n;
                        }
                        copied += to - from;
                        written += to - from;
                        break;
                    }
                    case DeltaFormat.Literal:
                    {
                        var length = reader.Int("LITERAL length", DeltaFormat.MaxLiteral);
                        if (length == 0) throw reader.Corrupt("an empty LITERAL");
                        for (var left = length; left > 0;)
                        {
                            var n = Math.Min(left, buffer.Length);
                            reader.Bytes(buffer.AsSpan(0, n), "LITERAL data");
                            Write(output, hash, buffer.AsSpan(0, n));
                            left -= n;
                        }
                        literal += length;
                        written += length;
                        break;
                    }
                    case DeltaFormat.End:
                    {
                        var length = reader.Long("END target length", long.MaxValue / 2);
                        Span<byte> expected = stackalloc byte[32];
                        reader.Bytes(expected, "END hash");
                        var actual = hash.GetHashAndReset();
                        if (length != written)
                            throw reader.Corrupt($"it rebuilt {written} bytes but says the target has {length}");
                        if (!expected.SequenceEqual(actual))
                            throw new ReplicationException($"the rebuilt file does not match the sender's SHA-256 ({Convert.ToHexStringLower(actual)} instead of {Convert.ToHexStringLower(expected)}): the delta was damaged or the basis is not the one it was made against; sync again");
                        return new DeltaStats(written, literal, copied, actual);
                    }
                    default:
                        throw reader.Corrupt($"unknown operation {op}");
                }
            }
        }
        catch (EndOfStreamException e) { throw new ReplicationException("the basis ended early: it changed while the delta was applied; sync again", e); }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    private static void Write(Stream output, IncrementalHash hash, ReadOnlySpan<byte> data)
    {
        hash.AppendData(data);
        output.Write(data);
    }

    /// <summary>
    /// Patches the file at <paramref name="targetPath"/> (its basis; absent means none) with a delta and replaces it
    /// atomically: the result goes to a temporary file in the same directory, is verified and fsynced, then renamed
    /// over the target. On any failure the temporary file is removed and the target is as it was.
    /// </summary>
    public static DeltaStats PatchFile(string targetPath, Stream delta, string? basisPath = null)
    {
        basisPath ??= targetPath;
        var directory = Path.GetDirectoryName(Path.GetFullPath(targetPath))!;
        var temporary = Path.Combine(directory, $".vcsync.{Guid.NewGuid():N}.tmp");
        try
        {
            DeltaStats stats;
            using (var basis = File.Exists(basisPath) ? new FileStream(basisPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.RandomAccess) : null)
            using (var output = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024))
            {
                stats = Apply(delta, basis, output);
                output.Flush(flushToDisk: true);
            }
            File.Move(temporary, targetPath, overwrite: true);
            return stats;
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }
}
