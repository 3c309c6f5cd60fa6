namespace VirtualCluster.Benchmarks.Scheduling.Quality;

/// <summary>
/// Lower bounds on the number of bins (Martello and Toth, "Lower bounds and reduction procedures for the bin packing
/// problem", 1990). For vectors, a bound of any one dimension is a bound of the whole, so the maximum is taken.
/// </summary>
internal static class BinPackingBounds
{
    /// <summary>L1 = ⌈Σw / C⌉, the continuous bound.</summary>
    public static int L1(IReadOnlyList<int> sizes, int capacity) => (int)((sizes.Sum(s => (long)s) + capacity - 1) / capacity);

    /// <summary>
    /// L2 = max over α ∈ {0} ∪ {wⱼ ≤ C/2} of |J1| + |J2| + max(0, ⌈(Σ_{J3} w − (|J2|·C − Σ_{J2} w)) / C⌉), where
    /// J1 = {w > C − α}, J2 = {C/2 &lt; w ≤ C − α}, J3 = {α ≤ w ≤ C/2}. Always at least L1.
    /// </summary>
    public static int L2(IReadOnlyList<int> sizes, int capacity)
    {
        var best = L1(sizes, capacity);
        var alphas = sizes.Where(s => 2 * s <= capacity).Append(0).Distinct().ToList();
        foreach (var alpha in alphas)
        {
            long j1 = 0, j2 = 0, sum2 = 0, sum3 = 0;
            foreach (var w in sizes)
            {
                if (w > capacity - alpha) j1++;
                else if (2 * w > capacity) { j2++; sum2 += w; }
                else if (w >= alpha) sum3 += w;
            }
            var spare = j2 * capacity - sum2;
            var extra = Math.Max(0, (sum3 - spare + capacity - 1) / capacity);
            best = Math.Max(best, (int)(j1 + j2 + extra));
        }
        return best;
    }

    /// <summary>The larger of the per-dimension L2 bounds.</summary>
    public static int Vector(IReadOnlyList<(int Cpu, int Memory)> items, int capacity) =>
        Math.Max(L2([.. items.Select(i => i.Cpu)], capacity), L2([.. items.Select(i => i.Memory)], capacity));
}
