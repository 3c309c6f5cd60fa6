using System.Text;

namespace VirtualCluster.Benchmarks.Replication;

/// <summary>Builds and edits the benchmark tree: files of 4 KiB to 8 MiB (log-uniform sizes), half random bytes, half text.</summary>
internal static class TreeMaker
{
    private static readonly string[] Words = "replica node volume cluster sync delta block hash agent service instance epoch lease gateway token data record write read error retry leader follower snapshot commit".Split(' ');

    public static (int Files, long Bytes) Build(string root, long totalBytes, Random random)
    {
        long bytes = 0;
        var files = 0;
        while (bytes < totalBytes)
        {
            var size = (int)Math.Min(totalBytes - bytes, Math.Exp(Math.Log(4096) + random.NextDouble() * (Math.Log(8 << 20) - Math.Log(4096))));
            var directory = Path.Combine(root, $"d{files % 17}", $"e{files % 5}");
            Directory.CreateDirectory(directory);
            File.WriteAllBytes(Path.Combine(directory, $"f{files}.dat"), Content(size, random, text: files % 2 == 0));
            bytes += size;
            files++;
        }
        return (files, bytes);
    }

    private static byte[] Content(int size, Random random, bool text)
    {
        var data = new byte[size];
        if (!text) { random.NextBytes(data); return data; }
        var builder = new StringBuilder(size + 64);
        while (builder.Length < size) builder.Append(Words[random.Next(Words.Length)]).Append(random.Next(100_000)).Append(random.Next(10) == 0 ? '\n' : ' ');
        Encoding.ASCII.GetBytes(builder.ToString(0, size), data);
        return data;
    }

    public static List<string> Files(string root) => [.. Directory.GetFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];

    /// <summary>Scattered 256-byte writes until <paramref name="fraction"/> of the tree's bytes changed; files chosen in proportion to their size.</summary>
    public static int ScatteredWrites(string root, double fraction, Random random)
    {
        var files = Files(root).Select(f => (Path: f, Length: new FileInfo(f).Length)).ToList();
        var total = files.Sum(f => f.Length);
        var writes = (int)(total * fraction / 256);
        var cumulative = new long[files.Count];
        long sum = 0;
        for (var i = 0; i < files.Count; i++) cumulative[i] = sum += files[i].Length;
        var byFile = new Dictionary<int, List<long>>();
        for (var w = 0; w < writes; w++)
        {
            var at = (long)(random.NextDouble() * total);
            var index = Array.BinarySearch(cumulative, at);
            if (index < 0) index = ~index;
            (byFile.TryGetValue(index, out var list) ? list : byFile[index] = []).Add(Math.Max(0, Math.Min(at - (cumulative[index] - files[index].Length), files[index].Length - 256)));
        }
        var patch = new byte[256];
        foreach (var (index, offsets) in byFile) Overwrite(files[index].Path, offsets, patch, random);
        return writes;
    }

    /// <summary>One 256-byte write in each of <paramref name="count"/> files (smallest first, or the largest when <paramref name="largest"/>).</summary>
    public static void SmallEdits(string root, int count, bool largest, Random random)
    {
        var files = Files(root).Select(f => new FileInfo(f)).OrderBy(f => largest ? -f.Length : f.Length).Take(count);
        var patch = new byte[256];
        foreach (var file in files) Overwrite(file.FullName, [random.NextInt64(Math.Max(1, file.Length - 256))], patch, random);
    }

    private static void Overwrite(string path, List<long> offsets, byte[] patch, Random random)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
        foreach (var offset in offsets)
        {
            random.NextBytes(patch);
            stream.Position = offset;
            stream.Write(patch);
        }
    }
}
