using VirtualCluster.Replication.Delta;

namespace VirtualCluster.Replication.Tests;

public sealed class LargeFileTests
{
    /// <summary>Counts what is written and hashes it, so the output of a large patch needs no memory.</summary>
    private sealed class Sink : Stream
    {
        private readonly System.Security.Cryptography.IncrementalHash _hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        public long Written;
        public byte[] Hash => _hash.GetCurrentHash();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Written;
        public override long Position { get => Written; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer) { _hash.AppendData(buffer); Written += buffer.Length; }
    }

    [Fact]
    public void A_file_of_a_gigabyte_is_signed_diffed_and_patched_in_bounded_memory()
    {
        const long length = 1L << 30;
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var blockLength = BlockSize.For(length);
        var signature = Signature.Compute(new GeneratedStream(length, 1), blockLength);
        var delta = new MemoryStream();
        var stats = new DeltaWriter(signature).Write(new GeneratedStream(length, 1, editAt: 700_000_000, editLength: 5000), delta);
        Assert.Equal(length, stats.TargetLength);
        Assert.True(stats.LiteralBytes <= 5000 + 2 * blockLength, $"literal {stats.LiteralBytes}");
        delta.Position = 0;
        var sink = new Sink();
        var patched = DeltaPatcher.Apply(delta, new GeneratedStream(length, 1), sink);
        Assert.Equal(length, sink.Written);
        Assert.Equal(stats.TargetHash, sink.Hash);
        Assert.Equal(stats.TargetHash, patched.TargetHash);
        // A gigabyte went through three passes; what was allocated is the signature (12 bytes a block), buffers and the delta.
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        Assert.True(allocated < 48L * 1024 * 1024, $"allocated {allocated / 1024 / 1024} MiB for a 1 GiB file");
    }
}
