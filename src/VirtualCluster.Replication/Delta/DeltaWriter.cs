using System.Buffers;
using System.Numerics;
using System.Security.Cryptography;
using VirtualCluster.Replication.Wire;

namespace VirtualCluster.Replication.Delta;

/// <summary>
/// Writes the delta that turns the basis described by a <see cref="Signature"/> into a target read from a stream,
/// with rsync's search: slide a block-long window over the target one byte at a time, look its rolling checksum up
/// in a hash table of the basis blocks, confirm a hit with the strong hash, emit COPY for matched blocks (runs of
/// consecutive blocks coalesced) and LITERAL for the bytes in between. Memory is bounded by the signature and a
/// buffer of max(4 blocks, 256 KiB), whatever the target's length.
/// </summary>
public sealed class DeltaWriter
{
    private readonly Signature? _basis;
    private readonly int[] _heads = [];
    private readonly int[] _next = [];
    private readonly int _shift;

    /// <summary>Prepares a writer against <paramref name="basis"/> (null: the receiver has nothing, all literal).</summary>
    public DeltaWriter(Signature? basis)
    {
        _basis = basis is { BlockCount: > 0 } ? basis : null;
        if (_basis is null) return;
        var bits = Math.Max(4, BitOperations.Log2((uint)_basis.BlockCount) + 2);
        _shift = 32 - bits;
        _heads = new int[1 << bits];
        Array.Fill(_heads, -1);
        _next = new int[_basis.BlockCount];
        // Only whole blocks go in the table; the basis's short last block is matched at the target's end. Inserted in
        // reverse so chains list lower block numbers first.
        for (var i = _basis.BlockCount - 1; i >= 0; i--)
        {
            if (BlockLengthOf(i) != _basis.BlockLength) continue;
            var slot = Slot(_basis.Weak[i]);
            _next[i] = _heads[slot];
            _heads[slot] = i;
        }
    }

    private int Slot(uint weak) => (int)((weak * 0x9E3779B1u) >> _shift);

    private int BlockLengthOf(int block) => (int)Math.Min(_basis!.BlockLength, _basis.Length - (long)block * _basis.BlockLength);

    /// <summary>Reads <paramref name="target"/> to its end and writes the delta to <paramref name="output"/>.</summary>
    public DeltaStats Write(Stream target, Stream output) => Write(target, output, null);

    /// <summary>
    /// As <see cref="Write(Stream, Stream)"/>, and signs the target in the same pass when <paramref name="targetSignature"/>
    /// is given (the sender keeps it as the basis of the next sync, so no signature has to cross the wire then).
    /// </summary>
    internal DeltaStats Write(Stream target, Stream output, SignatureBuilder? targetSignature)
    {
        var writer = new WireWriter(output);
        try
        {
            var stats = new Emitter(writer, _basis?.BlockLength ?? 0, targetSignature).Run(this, target);
            writer.FlushBuffer();
            return stats;
        }
        finally { writer.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
    }

    /// <summary>Writes a delta of a file against a basis signature (null: none).</summary>
    public static DeltaStats WriteFile(string targetPath, Signature? basis, Stream output)
    {
        using var target = new FileStream(targetPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
        return new DeltaWriter(basis).Write(target, output);
    }

    /// <summary>
    /// Emits operations, and feeds the target's own signature with every target byte in order: a COPY of a whole
    /// basis block that lands on a block boundary of the target reuses the basis block's checksums instead of
    /// hashing the bytes again (most of a lightly edited file).
    /// </summary>
    private sealed class Emitter(WireWriter writer, int blockLength, SignatureBuilder? signature)
    {
        private long _literalBytes;
        private long _copiedBytes;
        private int _runStart = -1;
        private int _runCount;

        private Signature? _basis;

        public DeltaStats Run(DeltaWriter delta, Stream target)
        {
            _basis = delta._basis;
            writer.Varint(DeltaFormat.Magic);
            writer.Varint((ulong)blockLength);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long total = 0;
            var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(4 * blockLength, 256 * 1024));
            try
            {
                var reader = new Refill(target, buffer, hash);
                if (delta._basis is null) AllLiteral(reader);
                else Search(delta, reader, buffer);
                total = reader.Total;
            }
            finally { ArrayPool<byte>.Shared.Return(buffer); }
            FlushRun();
            var digest = hash.GetHashAndReset();
            writer.Byte(DeltaFormat.End);
            writer.Varint(total);
            writer.Bytes(digest);
            return new DeltaStats(total, _literalBytes, _copiedBytes, digest);
        }

        private void AllLiteral(Refill reader)
        {
            while (reader.Fill(0) > 0)
            {
                Literal(reader.Buffer.AsSpan(0, reader.End));
                reader.End = 0;
            }
        }

        private void Search(DeltaWriter delta, Refill reader, byte[] buffer)
        {
            var basis = delta._basis!;
            var n = blockLength;
            var lastLength = (int)(basis.Length - (long)(basis.BlockCount - 1) * n);
            int start = 0, literalStart = 0;
            var rolling = default(RollingChecksum);
            var rollingValid = false;
            while (true)
            {
                if (reader.End - start < n && !reader.Eof)
                {
                    // Make room: everything before the window is either sent or pending literal; send it, keep the window.
                    Literal(buffer.AsSpan(literalStart, start - literalStart));
                    Buffer.BlockCopy(buffer, start, buffer, 0, reader.End - start);
                    reader.End -= start;
                    start = literalStart = 0;
                    reader.Fill(reader.End);
                    continue;
                }
                if (reader.End - start < n)
                {
                    var rest = reader.End - start;
                    if (rest > 0 && rest == lastLength && lastLength < n && MatchesLast(basis, buffer.AsSpan(start, rest)))
                    {
                        Literal(buffer.AsSpan(literalStart, start - literalStart));
                        Copy(basis.BlockCount - 1, buffer.AsSpan(start, rest));
                        return;
                    }
                    Literal(buffer.AsSpan(literalStart, reader.End - literalStart));
                    return;
                }
                if (!rollingValid) { rolling = new RollingChecksum(buffer.AsSpan(start, n)); rollingValid = true; }
                var match = Find(delta, rolling.Value, buffer.AsSpan(start, n));
                if (match >= 0)
                {
                    Literal(buffer.AsSpan(literalStart, start - literalStart));
                    Copy(match, buffer.AsSpan(start, n));
                    start += n;
                    literalStart = start;
                    rollingValid = false;
                    continue;
                }
                if (start - literalStart >= DeltaFormat.MaxLiteral)
                {
                    Literal(buffer.AsSpan(literalStart, start - literalStart));
                    literalStart = start;
                }
                if (start + n < reader.End) rolling.Roll(buffer[start], buffer[start + n]);
                else rollingValid = false;
                start++;
            }
        }

        private int Find(DeltaWriter delta, uint weak, ReadOnlySpan<byte> window)
        {
            var candidate = delta._heads[delta.Slot(weak)];
            ulong strong = 0;
            var strongDone = false;
            var basis = delta._basis!;
            // The block after the current run first: a match there extends the run instead of starting a new COPY.
            var preferred = _runStart >= 0 ? _runStart + _runCount : -1;
            if (preferred >= 0 && preferred < basis.BlockCount && basis.Weak[preferred] == weak && delta.BlockLengthOf(preferred) == window.Length)
            {
                strong = Signature.StrongHash(window);
                strongDone = true;
                if (basis.Strong[preferred] == strong) return preferred;
            }
            for (var guard = 0; candidate >= 0 && guard < 64; candidate = delta._next[candidate], guard++)
            {
                if (basis.Weak[candidate] != weak) continue;
                if (!strongDone) { strong = Signature.StrongHash(window); strongDone = true; }
                if (basis.Strong[candidate] == strong) return candidate;
            }
            return -1;
        }

        private static bool MatchesLast(Signature basis, ReadOnlySpan<byte> tail) =>
            basis.Weak[^1] == RollingChecksum.Of(tail) && basis.Strong[^1] == Signature.StrongHash(tail);

        private void Copy(int block, ReadOnlySpan<byte> bytes)
        {
            var length = bytes.Length;
            if (signature is not null)
            {
                if (signature.AtBoundary && length == signature.BlockLength) signature.AppendKnown(_basis!.Weak[block], _basis.Strong[block], length);
                else signature.Append(bytes);
            }
            _copiedBytes += length;
            if (_runStart >= 0 && block == _runStart + _runCount) { _runCount++; return; }
            FlushRun();
            (_runStart, _runCount) = (block, 1);
        }

        private void FlushRun()
        {
            if (_runStart < 0) return;
            writer.Byte(DeltaFormat.Copy);
            writer.Varint((ulong)_runStart);
            writer.Varint((ulong)_runCount);
            _runStart = -1;
        }

        private void Literal(ReadOnlySpan<byte> data)
        {
            if (data.IsEmpty) return;
            FlushRun();
            signature?.Append(data);
            _literalBytes += data.Length;
            while (!data.IsEmpty)
            {
                var n = Math.Min(data.Length, DeltaFormat.MaxLiteral);
                writer.Byte(DeltaFormat.Literal);
                writer.Varint((ulong)n);
                writer.Bytes(data[..n]);
                data = data[n..];
            }
        }
    }

    /// <summary>Fills the buffer from the target, hashing bytes in the order they are read.</summary>
    private sealed class Refill(Stream target, byte[] buffer, IncrementalHash hash)
    {
        public byte[] Buffer => buffer;
        public int End;
        public bool Eof;
        public long Total;

        public int Fill(int from)
        {
            End = from;
            while (End < buffer.Length && !Eof)
            {
                var read = target.Read(buffer, End, buffer.Length - End);
                if (read == 0) { Eof = true; break; }
                var span = buffer.AsSpan(End, read);
                hash.AppendData(span);
                Total += read;
                End += read;
            }
            return End - from;
        }
    }
}
