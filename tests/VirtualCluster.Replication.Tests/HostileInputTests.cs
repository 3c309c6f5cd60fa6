using CsCheck;
using VirtualCluster.Replication.Delta;
using VirtualCluster.Replication.Sync;
using VirtualCluster.Replication.Wire;

namespace VirtualCluster.Replication.Tests;

public sealed class HostileInputTests
{
    private static (byte[] Basis, byte[] Delta) MakeDelta(bool compress)
    {
        var basis = DeltaPropertyTests.Random(50_000, 11);
        var target = (byte[])basis.Clone();
        DeltaPropertyTests.Random(3000, 12).CopyTo(target, 20_000);
        var wire = new MemoryStream();
        var signature = Signature.Compute(new MemoryStream(basis), 700);
        if (compress)
        {
            using var output = DeltaCompression.Compress(wire, 1);
            new DeltaWriter(signature).Write(new MemoryStream(target), output);
        }
        else new DeltaWriter(signature).Write(new MemoryStream(target), wire);
        return (basis, wire.ToArray());
    }

    private static void AssertRefusedLeavingFileIntact(byte[] basis, byte[] delta, bool compressed)
    {
        using var tree = new TempTree("hostile");
        var path = tree["file.bin"];
        File.WriteAllBytes(path, basis);
        Stream input = new MemoryStream(delta);
        if (compressed) input = DeltaCompression.Decompress(input);
        var error = Assert.ThrowsAny<ReplicationException>(() => DeltaPatcher.PatchFile(path, input));
        Assert.Matches("truncated|corrupt|does not match|basis", error.Message);
        Assert.Equal(basis, File.ReadAllBytes(path));
        Assert.Equal(["file.bin"], Directory.GetFiles(tree.Root).Select(Path.GetFileName));
    }

    [Fact]
    public void A_corrupted_delta_is_refused_and_the_target_stays_as_it_was()
    {
        foreach (var compressed in new[] { false, true })
        {
            var (basis, delta) = MakeDelta(compressed);
            Gen.Select(Gen.Int[0, delta.Length - 1], Gen.Byte[1, 255]).Sample((at, flip) =>
            {
                var damaged = (byte[])delta.Clone();
                damaged[at] ^= flip;
                AssertRefusedLeavingFileIntact(basis, damaged, compressed);
            }, iter: 150, threads: 1);
        }
    }

    [Fact]
    public void Every_byte_of_a_delta_matters_a_flip_anywhere_is_refused()
    {
        // exhaustive where the sample above is random: CI once found a flip of the compressed stream's end marker that
        // was never read (the patcher stopped at END); a whole delta must now be read to its end
        foreach (var compressed in new[] { false, true })
        {
            var (basis, delta) = MakeDelta(compressed);
            for (var at = 0; at < delta.Length; at++)
            {
                foreach (var flip in new byte[] { 0x01, 0x04, 0x80 })
                {
                    var damaged = (byte[])delta.Clone();
                    damaged[at] ^= flip;
                    Stream input = new MemoryStream(damaged);
                    if (compressed) input = DeltaCompression.Decompress(input);
                    Assert.ThrowsAny<ReplicationException>(() => DeltaPatcher.Apply(input, new MemoryStream(basis), new MemoryStream()));
                }
            }
        }
    }

    [Fact]
    public void A_truncated_delta_is_refused_and_the_target_stays_as_it_was()
    {
        foreach (var compressed in new[] { false, true })
        {
            var (basis, delta) = MakeDelta(compressed);
            Gen.Int[0, delta.Length - 1].Sample(length => AssertRefusedLeavingFileIntact(basis, delta[..length], compressed), iter: 100, threads: 1);
        }
    }

    [Fact]
    public void A_delta_that_copies_beyond_the_basis_names_the_problem()
    {
        var wire = new MemoryStream();
        var writer = new WireWriter(wire);
        writer.Varint(DeltaFormat.Magic);
        writer.Varint(700UL);
        writer.Byte(DeltaFormat.Copy);
        writer.Varint(1000UL);
        writer.Varint(1UL);
        writer.FlushBuffer();
        wire.Position = 0;
        var error = Assert.Throws<ReplicationException>(() => DeltaPatcher.Apply(wire, new MemoryStream(new byte[1400]), new MemoryStream()));
        Assert.Contains("beyond the basis", error.Message);
    }

    private static byte[] Manifest(params TreeEntry[] entries)
    {
        var wire = new MemoryStream();
        using (var output = DeltaCompression.Compress(wire, 1))
        {
            var writer = new WireWriter(output);
            SyncMessages.WriteManifest(writer, entries.Select(e => new ManifestEntry(e, -1, 0)).ToList());
            writer.FlushBuffer();
        }
        return wire.ToArray();
    }

    private static TreeEntry FileAt(string path) => new(path, EntryKind.File, 10, DateTime.UtcNow.Ticks, 0x1A4, null);

    private static TreeEntry DirectoryAt(string path) => new(path, EntryKind.Directory, 0, DateTime.UtcNow.Ticks, 0x1ED, null);

    public static TheoryData<string> EscapingPaths => ["../outside", "/etc/passwd", "a/../../outside", "./x", "a//b", "a/", "", "a\\..\\..\\x", ".vcsync.staging/x"];

    [Theory]
    [MemberData(nameof(EscapingPaths))]
    public void Paths_that_escape_the_root_are_refused(string path)
    {
        using var target = new TempTree("dst");
        File.WriteAllText(target["keep.txt"], "unchanged");
        var before = TempTree.Snapshot(target.Root);
        var receiver = new DirectorySyncReceiver(target.Root);
        var entries = path.StartsWith("a/", StringComparison.Ordinal) ? new[] { DirectoryAt("a"), FileAt(path) } : [FileAt(path)];
        var error = Assert.ThrowsAny<ReplicationException>(() => receiver.Plan(new MemoryStream(Manifest(entries)), new MemoryStream()));
        Assert.Contains("refused", error.Message);
        Assert.Equal(before, TempTree.Snapshot(target.Root));
    }

    public static TheoryData<string, string> EscapingLinks => new()
    {
        { "l", "/etc" }, { "l", "../outside" }, { "a/l", "../../outside" }, { "a/l", "b/../../.." }, { "l", "a/../.." },
    };

    [Theory]
    [MemberData(nameof(EscapingLinks))]
    public void Symlinks_that_point_out_of_the_root_are_refused(string path, string linkTarget)
    {
        using var target = new TempTree("dst");
        var receiver = new DirectorySyncReceiver(target.Root);
        var entries = new List<TreeEntry>();
        if (path.StartsWith("a/", StringComparison.Ordinal)) entries.Add(DirectoryAt("a"));
        entries.Add(new TreeEntry(path, EntryKind.Symlink, 0, 0, 0, linkTarget));
        var error = Assert.Throws<UnsafePathException>(() => receiver.Plan(new MemoryStream(Manifest([.. entries])), new MemoryStream()));
        Assert.Contains("symlink target", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(target.Root));
    }

    [Fact]
    public void A_file_whose_parent_is_not_a_directory_of_the_manifest_is_refused()
    {
        // "a" is a symlink in the manifest: "a/x" would be written through it.
        using var target = new TempTree("dst");
        var receiver = new DirectorySyncReceiver(target.Root);
        var manifest = Manifest(new TreeEntry("a", EntryKind.Symlink, 0, 0, 0, "b"), FileAt("a/x"));
        var error = Assert.Throws<UnsafePathException>(() => receiver.Plan(new MemoryStream(manifest), new MemoryStream()));
        Assert.Contains("parent is not a directory", error.Message);
    }

    [Fact]
    public async Task A_symlink_on_the_receiver_is_replaced_never_written_through()
    {
        using var source = new TempTree("src");
        using var target = new TempTree("dst");
        using var outside = new TempTree("outside");
        File.WriteAllText(outside["x"], "outside the root");
        Directory.CreateDirectory(source["a"]);
        File.WriteAllText(source["a/x"], "inside");
        File.WriteAllText(source["f"], "a file");
        File.CreateSymbolicLink(target["a"], outside.Root);
        File.CreateSymbolicLink(target["f"], outside["x"]);
        await new DirectorySyncSender(source.Root).SyncAsync(new LocalSyncTransport(new DirectorySyncReceiver(target.Root)));
        Assert.Equal("outside the root", File.ReadAllText(outside["x"]));
        Assert.Equal(["x"], Directory.GetFileSystemEntries(outside.Root).Select(Path.GetFileName));
        Assert.Equal(TempTree.Snapshot(source.Root), TempTree.Snapshot(target.Root));
    }

    /// <summary>Damages the apply request on its way to the receiver.</summary>
    private sealed class DamagingTransport(DirectorySyncReceiver receiver, Func<byte[], byte[]> damage) : ISyncTransport
    {
        private readonly LocalSyncTransport _inner = new(receiver);

        public async Task<Stream> SendAsync(SyncStep step, Func<Stream, CancellationToken, Task> writeRequest, CancellationToken cancellationToken = default)
        {
            if (step == SyncStep.Plan) return await _inner.SendAsync(step, writeRequest, cancellationToken);
            var buffer = new MemoryStream();
            await writeRequest(buffer, cancellationToken);
            var damaged = damage(buffer.ToArray());
            return await _inner.SendAsync(step, (s, ct) => s.WriteAsync(damaged, ct).AsTask(), cancellationToken);
        }
    }

    [Fact]
    public async Task A_damaged_or_truncated_bundle_leaves_the_whole_tree_unchanged()
    {
        using var source = new TempTree("src");
        using var target = new TempTree("dst");
        for (var i = 0; i < 5; i++) File.WriteAllBytes(source[$"f{i}"], DeltaPropertyTests.Random(30_000, i));
        var receiver = new DirectorySyncReceiver(target.Root);
        var sender = new DirectorySyncSender(source.Root);
        await sender.SyncAsync(new LocalSyncTransport(receiver));
        for (var i = 0; i < 5; i++) File.AppendAllText(source[$"f{i}"], "more");
        File.Delete(source["f0"]);
        File.WriteAllText(source["new"], "new");
        var before = TempTree.Snapshot(target.Root);
        var damages = new Func<byte[], byte[]>[] { b => b[..(b.Length / 2)], b => b[..(b.Length - 3)], b => { var c = (byte[])b.Clone(); c[c.Length / 2] ^= 0x55; return c; } };
        foreach (var damage in damages)
        {
            var error = await Assert.ThrowsAnyAsync<ReplicationException>(() => sender.SyncAsync(new DamagingTransport(receiver, damage)));
            Assert.Matches("truncated|corrupt|does not match", error.Message);
            Assert.Equal(before, TempTree.Snapshot(target.Root));
            Assert.False(Directory.Exists(target[".vcsync.staging"]));
        }
        // Positive control: the same sync undamaged goes through.
        await sender.SyncAsync(new LocalSyncTransport(receiver));
        Assert.Equal(TempTree.Snapshot(source.Root), TempTree.Snapshot(target.Root));
    }
}
