namespace VirtualCluster.Benchmarks.Scheduling.Quality;

/// <summary>
/// Two-dimensional sets where greedy packing is known to lose machines (issue 17): anti-correlated items (half
/// CPU-heavy, half memory-heavy, so the best layouts pair them), bimodal sizes (many small, many large), and items
/// just over half a machine in one dimension with small fillers. Identical machines of
/// <see cref="TraceLikeSets.Capacity"/> units per dimension; seeded, so every run (and the cached CP-SAT results)
/// sees the same items.
/// </summary>
internal static class HardSets
{
    public static readonly string[] Shapes = ["anti-correlated", "bimodal", "just-over-half"];

    public static readonly int[] Sizes = [60, 120, 200];

    public static readonly int[] Seeds = [1, 2];

    public static List<(int Cpu, int Memory)> Generate(string shape, int count, int seed)
    {
        var random = new Random(seed * 7919 + count);
        var items = new List<(int, int)>(count);
        for (var i = 0; i < count; i++)
        {
            items.Add(shape switch
            {
                "anti-correlated" => Swap(i % 2 == 0, (random.Next(300, 651), random.Next(50, 301))),
                "bimodal" => Bimodal(random),
                "just-over-half" => random.NextDouble() < 0.5
                    ? Swap(random.Next(2) == 0, (random.Next(501, 601), random.Next(50, 201)))
                    : (random.Next(20, 151), random.Next(20, 151)),
                _ => throw new ArgumentException($"unknown shape {shape}", nameof(shape)),
            });
        }
        return items;
    }

    private static (int, int) Bimodal(Random random)
    {
        var main = random.NextDouble() < 0.6 ? random.Next(20, 121) : random.Next(450, 701);
        var side = Math.Clamp((int)(main * (0.5 + 0.7 * random.NextDouble())), 1, TraceLikeSets.Capacity);
        return Swap(random.Next(2) == 0, (main, side));
    }

    private static (int, int) Swap(bool swap, (int A, int B) pair) => swap ? (pair.B, pair.A) : pair;

    /// <summary>First-fit decreasing by the larger dimension: the upper bound handed to CP-SAT's model.</summary>
    public static int FirstFitDecreasing(IReadOnlyList<(int Cpu, int Memory)> items, int capacity)
    {
        var bins = new List<(int Cpu, int Memory)>();
        foreach (var (cpu, memory) in items.OrderByDescending(i => Math.Max(i.Cpu, i.Memory)))
        {
            var placed = false;
            for (var b = 0; b < bins.Count && !placed; b++)
            {
                if (bins[b].Cpu + cpu > capacity || bins[b].Memory + memory > capacity) continue;
                bins[b] = (bins[b].Cpu + cpu, bins[b].Memory + memory);
                placed = true;
            }
            if (!placed) bins.Add((cpu, memory));
        }
        return bins.Count;
    }
}
