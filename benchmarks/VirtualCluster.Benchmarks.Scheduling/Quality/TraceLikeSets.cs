namespace VirtualCluster.Benchmarks.Scheduling.Quality;

/// <summary>
/// Synthetic task sets shaped like public cluster traces (Google 2011/2019, Alibaba 2018): most tasks small, a few
/// large, sizes heavy-tailed; with memory-heavy, CPU-heavy and mixed variants. Sizes are integers out of a machine
/// of <see cref="Capacity"/> units per dimension, so the same numbers feed our scheduler, the bounds and CP-SAT.
/// </summary>
internal static class TraceLikeSets
{
    public const int Capacity = 1000;

    public static readonly string[] Shapes = ["memory-heavy", "cpu-heavy", "mixed"];

    public static List<(int Cpu, int Memory)> Generate(string shape, int count, int seed)
    {
        var random = new Random(seed);
        var items = new List<(int, int)>(count);
        for (var i = 0; i < count; i++)
        {
            var main = Size(random);
            var side = Math.Max(1, (int)(main * (0.1 + 0.4 * random.NextDouble())));
            items.Add(shape switch
            {
                "memory-heavy" => (side, main),
                "cpu-heavy" => (main, side),
                // Half of each, the case where packing both dimensions together pays off.
                _ => random.Next(2) == 0 ? (main, side) : (side, main),
            });
        }
        return items;
    }

    /// <summary>70% small (1–8% of a machine), 25% medium (8–30%), 5% large (30–70%).</summary>
    private static int Size(Random random)
    {
        var p = random.NextDouble();
        return p < 0.70 ? random.Next(10, 80) : p < 0.95 ? random.Next(80, 300) : random.Next(300, 700);
    }
}
