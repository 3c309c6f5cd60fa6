using System.Globalization;
using System.Text.Json;

namespace VirtualCluster.Benchmarks.Scheduling.Quality;

/// <summary>
/// CP-SAT results for <see cref="HardSets"/>, solved once with a 60 s limit and kept in
/// <c>Quality/cpsat-reference.json</c> (committed, with the date of the run): on the shared 2-core build machines a
/// fresh solve of every set takes up to 18 minutes, so the quality harness reads the file and only solves sets it
/// does not hold (or every set with <c>--resolve</c>).
/// </summary>
internal static class CpSatCache
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    public sealed record Entry(string Shape, int Items, int Seed, int Bins, int Bound, bool Optimal, double Seconds, int FfdBins, string Date);

    public static string DefaultPath =>
        Path.Combine(FindProjectDirectory(), "Quality", "cpsat-reference.json");

    public static Dictionary<string, Entry> Load(string path)
    {
        if (!File.Exists(path)) return [];
        var entries = JsonSerializer.Deserialize<List<Entry>>(File.ReadAllText(path)) ?? [];
        return entries.ToDictionary(e => Key(e.Shape, e.Items, e.Seed));
    }

    public static string Key(string shape, int items, int seed) => $"{shape}/{items}/{seed}";

    /// <summary>Solves every set missing from the file (all with <paramref name="resolve"/>), saving after each solve.</summary>
    public static Dictionary<string, Entry> Ensure(string path, bool resolve, TextWriter output)
    {
        var cache = resolve ? [] : Load(path);
        foreach (var shape in HardSets.Shapes)
        foreach (var count in HardSets.Sizes)
        foreach (var seed in HardSets.Seeds)
        {
            var key = Key(shape, count, seed);
            if (cache.ContainsKey(key)) continue;
            var items = HardSets.Generate(shape, count, seed);
            var ffd = HardSets.FirstFitDecreasing(items, TraceLikeSets.Capacity);
            var bound = BinPackingBounds.Vector(items, TraceLikeSets.Capacity);
            var result = CpSatBinPacking.Solve(items, TraceLikeSets.Capacity, ffd, bound, Limit);
            cache[key] = new Entry(shape, count, seed, result.Bins, result.Bound, result.Optimal, Math.Round(result.Time.TotalSeconds, 2), ffd,
                DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            output.WriteLine($"CP-SAT {key}: {result.Bins} bins (bound {result.Bound}{(result.Optimal ? ", optimal" : "")}) in {result.Time.TotalSeconds:0.0} s; FFD {ffd}");
            var ordered = cache.Values.OrderBy(e => Array.IndexOf(HardSets.Shapes, e.Shape)).ThenBy(e => e.Items).ThenBy(e => e.Seed).ToList();
            File.WriteAllText(path, JsonSerializer.Serialize(ordered, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        }
        return cache;
    }

    private static string FindProjectDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "benchmarks", "VirtualCluster.Benchmarks.Scheduling");
            if (Directory.Exists(candidate)) return candidate;
        }
        return Path.Combine(Directory.GetCurrentDirectory(), "benchmarks", "VirtualCluster.Benchmarks.Scheduling");
    }
}
