using CsCheck;
using VirtualCluster.Replication.Sync;

namespace VirtualCluster.Replication.Tests;

public sealed class DirectorySyncTests
{
    private static long _edits;
    private static readonly DateTime Epoch = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static async Task<SyncReport> SyncAsync(DirectorySyncSender sender, DirectorySyncReceiver receiver) =>
        await sender.SyncAsync(new LocalSyncTransport(receiver));

    /// <summary>Builds a random tree: nested directories, files of 0-40 KB, symlinks inside the tree, odd modes.</summary>
    private static void RandomTree(string root, Random random, int files)
    {
        var directories = new List<string> { "" };
        for (var i = 0; i < files / 4 + 1; i++)
        {
            var parent = directories[random.Next(directories.Count)];
            var path = Path.Join(parent, $"d{i}");
            Directory.CreateDirectory(Path.Join(root, path));
            directories.Add(path);
        }
        for (var i = 0; i < files; i++)
        {
            var path = Path.Join(root, directories[random.Next(directories.Count)], $"f{i}.bin");
            var data = new byte[random.Next(0, 40_000)];
            random.NextBytes(data);
            File.WriteAllBytes(path, data);
            File.SetUnixFileMode(path, random.Next(2) == 0 ? (UnixFileMode)0b110_100_100 : (UnixFileMode)0b111_101_000);
            File.SetLastWriteTimeUtc(path, Epoch.AddSeconds(random.Next(1_000_000)).AddTicks(random.Next(10_000_000)));
        }
        File.CreateSymbolicLink(Path.Join(root, "link-to-d0"), "d0");
        if (directories.Count > 2) File.CreateSymbolicLink(Path.Join(root, directories[^1], "up"), "../" + Path.GetFileName(directories[^1]));
    }

    /// <summary>Edits, appends, creates, deletes, renames, chmods, replaces a file by a directory and retargets a link.</summary>
    private static void Mutate(string root, Random random)
    {
        var files = Directory.GetFiles(root, "*.bin", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }).Order().ToList();
        foreach (var file in files.Where(_ => random.Next(4) == 0))
        {
            using (var stream = new FileStream(file, FileMode.Open, FileAccess.Write))
            {
                stream.Position = stream.Length == 0 ? 0 : random.Next((int)stream.Length);
                var edit = new byte[random.Next(1, 300)];
                random.NextBytes(edit);
                stream.Write(edit);
            }
            // Every edit gets a new mtime: an edit that kept both size and mtime is what rsync's quick check (and ours) skips.
            File.SetLastWriteTimeUtc(file, Epoch.AddDays(30).AddSeconds(Interlocked.Increment(ref _edits)));
        }
        if (files.Count > 3)
        {
            File.Move(files[0], Path.Join(root, $"renamed{random.Next()}.bin"));
            File.Delete(files[1]);
            File.SetUnixFileMode(files[2], (UnixFileMode)0b110_000_000);
            File.Delete(files[3]);
            Directory.CreateDirectory(files[3]);
            File.WriteAllText(Path.Join(files[3], "inside.txt"), "a file where a file was");
        }
        File.WriteAllBytes(Path.Join(root, $"new{random.Next()}.bin"), new byte[random.Next(1, 5000)]);
        File.Delete(Path.Join(root, "link-to-d0"));
        File.CreateSymbolicLink(Path.Join(root, "link-to-d0"), "d1");
        if (Directory.Exists(Path.Join(root, "d2"))) Directory.Delete(Path.Join(root, "d2"), recursive: true);
    }

    [Fact]
    public void Random_trees_and_random_changes_sync_exactly()
    {
        Gen.Select(Gen.Int, Gen.Int[1, 40]).Sample((seed, files) =>
        {
            using var source = new TempTree("src");
            using var target = new TempTree("dst");
            var random = new Random(seed);
            RandomTree(source.Root, random, files);
            var sender = new DirectorySyncSender(source.Root);
            var receiver = new DirectorySyncReceiver(target.Root);
            SyncAsync(sender, receiver).GetAwaiter().GetResult();
            TempTree.AssertSame(source.Root, target.Root);
            for (var round = 0; round < 3; round++)
            {
                Mutate(source.Root, random);
                SyncAsync(sender, receiver).GetAwaiter().GetResult();
                TempTree.AssertSame(source.Root, target.Root);
            }
            var again = SyncAsync(sender, receiver).GetAwaiter().GetResult();
            Assert.Equal(0, again.FilesSent);
        }, iter: 25, threads: 1);
    }

    [Fact]
    public async Task Steady_state_sends_no_signatures_and_a_small_edit_costs_little()
    {
        using var source = new TempTree("src");
        using var target = new TempTree("dst");
        var data = DeltaPropertyTests.Random(8 * 1024 * 1024, 3);
        File.WriteAllBytes(source["big.bin"], data);
        var sender = new DirectorySyncSender(source.Root);
        var receiver = new DirectorySyncReceiver(target.Root);
        var first = await SyncAsync(sender, receiver);
        Assert.True(first.BytesSent > data.Length, "random data does not compress: the first sync sends it all");

        using (var stream = new FileStream(source["big.bin"], FileMode.Open, FileAccess.Write)) { stream.Position = 5_000_000; stream.Write(new byte[256]); }
        var edit = await SyncAsync(sender, receiver);
        Assert.Equal(1, edit.FilesSent);
        // The receiver answered "cached": its reply is a few bytes, not the 34 KB of an 8 MiB file's signature.
        Assert.True(edit.BytesReceived < 100, $"received {edit.BytesReceived} bytes");
        Assert.True(edit.BytesSent < 3_000, $"sent {edit.BytesSent} bytes for a 256-byte write");
        Assert.Equal(File.ReadAllBytes(source["big.bin"]), File.ReadAllBytes(target["big.bin"]));

        var unchanged = await SyncAsync(sender, receiver);
        Assert.Equal(0, unchanged.FilesSent);
        Assert.True(unchanged.BytesSent < 100, $"sent {unchanged.BytesSent} bytes for an unchanged tree");
    }

    [Fact]
    public async Task A_renamed_file_is_rebuilt_from_its_old_copy()
    {
        using var source = new TempTree("src");
        using var target = new TempTree("dst");
        Directory.CreateDirectory(source["a"]);
        File.WriteAllBytes(source["a/data.bin"], DeltaPropertyTests.Random(2_000_000, 4));
        var sender = new DirectorySyncSender(source.Root);
        var receiver = new DirectorySyncReceiver(target.Root);
        await SyncAsync(sender, receiver);
        Directory.CreateDirectory(source["b"]);
        File.Move(source["a/data.bin"], source["b/data.bin"]);
        var report = await SyncAsync(sender, receiver);
        Assert.Equal(0, report.LiteralBytes);
        Assert.Equal(2_000_000, report.CopiedBytes);
        TempTree.AssertSame(source.Root, target.Root);
    }

    [Fact]
    public async Task A_new_receiver_that_lost_its_data_gets_everything_again()
    {
        using var source = new TempTree("src");
        using var target = new TempTree("dst");
        File.WriteAllBytes(source["x.bin"], DeltaPropertyTests.Random(100_000, 5));
        var sender = new DirectorySyncSender(source.Root);
        await SyncAsync(sender, new DirectorySyncReceiver(target.Root));
        File.Delete(target["x.bin"]);
        File.AppendAllText(source["x.bin"], "more");
        await SyncAsync(sender, new DirectorySyncReceiver(target.Root));
        TempTree.AssertSame(source.Root, target.Root);
    }
}
