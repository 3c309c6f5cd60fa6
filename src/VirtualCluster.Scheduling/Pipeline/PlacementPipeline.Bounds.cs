namespace VirtualCluster.Scheduling;

/// <summary>Upper bounds of a subtree's best total for the indexed search (<see cref="PlacementPipeline"/>'s TrySelectIndexed).</summary>
public sealed partial class PlacementPipeline
{
    /// <summary>An upper bound on Σ wᵢ·scoreᵢ over the nodes below tree node <paramref name="t"/> that pass every filter; −∞ when none can.</summary>
    private static double Bound(PlacementIndex index, PlacementIndex.SpecView view, BoundInputs q, int t)
    {
        if (!view.AnyStatic[t]) return double.NegativeInfinity;
        var maxFree = index.MaxFree;
        if (q.Resources && (maxFree[0][t] < q.Cpu || maxFree[1][t] < q.Memory || maxFree[2][t] < q.Disk || maxFree[3][t] < q.Gpus))
            return double.NegativeInfinity;
        if (q.Ports > 0 && index.MaxFreePorts[t] < q.Ports) return double.NegativeInfinity;
        var bound = q.Rules;
        if (q.WithoutReplica is { } withoutReplica && withoutReplica[t] == 0)
        {
            index.Stats.ReplicaPrunes++;
            // Every node below runs a replica: none passes required anti-affinity, and preferred scores each at
            // most 100·(1 − 1/(T + 1)).
            if (q.AntiRequired is { Length: > 0 }) return double.NegativeInfinity;
            bound -= 100 * q.AntiWeight * q.AntiScale;
        }
        if (q.Affinity > 0) bound += q.Affinity * view.AffinityMax![t];
        for (var k = 0; k < q.Spreads.Length; k++)
        {
            var u = view.Uniform[k][t];
            double part;
            if (u == PlacementIndex.Mixed) part = q.MixedScore[k];
            else if (u < 0) part = q.SpreadFilter ? double.NegativeInfinity : 0;
            else part = q.DomainOk[k][u] ? q.DomainScore[k][u] : double.NegativeInfinity;
            if (part == double.NegativeInfinity) return part;
            if (q.SpreadWeight > 0) bound += part;
        }
        // Shares and sums of the nodes that could take the request (see PlacementIndex.Levels); level 0 holds all.
        var at = t * PlacementIndex.Levels;
        double hiCpu = index.HiCpuAt[at + q.CpuLevel], hiMem = index.HiMemAt[at + q.MemLevel];
        if (hiCpu == double.NegativeInfinity || hiMem == double.NegativeInfinity) return double.NegativeInfinity;
        if (hiCpu < index.HiCpuAt[at] || hiMem < index.HiMemAt[at]) index.Stats.TighterByLevel++;
        var maxSum = Math.Min(index.SumCpuAt[at + q.CpuLevel], index.SumMemAt[at + q.MemLevel]);
        Range(index, q, 0, t, hiCpu, q.Cpu, out var aLo, out var aHi);
        Range(index, q, 1, t, hiMem, q.Memory, out var bLo, out var bHi);
        if (q.Fused) return bound + Math.Min(MaxOnBox(q.Constant, q.SumWeight, q.DiffWeight, aLo, aHi, bLo, bHi), SumDiffBound(index, q, t, maxSum));
        // Each node's own a + b and a − b lie within the ranges of its current ones plus the request's shares, which
        // is tighter than the box of the two ranges (the same reasoning as SumDiffBound).
        double cLo = q.Cpu * index.LoInv[0][t], cHi = q.Cpu * index.HiInv[0][t];
        double mLo = q.Memory * index.LoInv[1][t], mHi = q.Memory * index.HiInv[1][t];
        double sumLo = Math.Max(aLo + bLo, index.MinSum[t] + cLo + mLo), sumHi = Math.Min(aHi + bHi, maxSum + cHi + mHi);
        var gap = Gap(index.MinDiff[t] + cLo - mHi, index.MaxDiff[t] + cHi - mLo);
        double dLo = 0, dHi = 0;
        if (q.Disk > 0)
        {
            Range(index, q, 2, t, index.Hi[2][t], q.Disk, out dLo, out dHi);
            sumLo += dLo;
            sumHi += dHi;
            gap = Math.Max(gap, Math.Max(Gap(aLo - dHi, aHi - dLo), Gap(bLo - dHi, bHi - dLo)));
        }
        if (q.Gpus > 0)
        {
            Range(index, q, 3, t, index.Hi[3][t], q.Gpus, out var lo, out var hi);
            sumLo += lo;
            sumHi += hi;
            gap = Math.Max(gap, Math.Max(Gap(aLo - hi, aHi - lo), Gap(bLo - hi, bHi - lo)));
            if (q.Disk > 0) gap = Math.Max(gap, Gap(dLo - hi, dHi - lo));
        }
        // Balanced: 100 × (1 − σ) with σ = √(Σ(x − mean)² / n) ≥ |x − y| / √(2n) for any two shares x, y of a node,
        // since Σ(x − mean)² ≥ (x − mean)² + (y − mean)² ≥ (x − y)² / 2. The gap is the least |x − y| below t.
        return bound + q.Most * 100 * sumHi / q.Dimensions + q.Least * 100 * (1 - sumLo / q.Dimensions)
            + q.Balanced * 100 * (1 - gap / Math.Sqrt(2.0 * q.Dimensions));
    }

    /// <summary>The least |x| for x in [lo, hi].</summary>
    private static double Gap(double lo, double hi) => lo > 0 ? lo : hi < 0 ? -hi : 0;

    /// <summary>The range of share_d = (use_d + request_d) / capacity_d below tree node t, the current share at most <paramref name="current"/>.</summary>
    private static void Range(PlacementIndex index, BoundInputs q, int d, int t, double current, long request, out double lo, out double hi)
    {
        lo = index.Lo[d][t] + request * index.LoInv[d][t];
        hi = current + request * index.HiInv[d][t];
        // A node passing the resource filter has use + request ≤ capacity, so its share is at most 1.
        if (q.ClipShares && hi > 1) hi = 1;
        if (lo > hi) lo = hi;
    }

    /// <summary>
    /// c + s·(a + b) − w·|a − b| bounded through the range of a + b and of a − b below the tree node (each node's
    /// own sum, rather than the largest share of one dimension plus the largest of the other).
    /// </summary>
    private static double SumDiffBound(PlacementIndex index, BoundInputs q, int t, double maxSum)
    {
        double cLo = q.Cpu * index.LoInv[0][t], cHi = q.Cpu * index.HiInv[0][t];
        double mLo = q.Memory * index.LoInv[1][t], mHi = q.Memory * index.HiInv[1][t];
        var sum = q.SumWeight >= 0 ? maxSum + cHi + mHi : index.MinSum[t] + cLo + mLo;
        double diffLo = index.MinDiff[t] + cLo - mHi, diffHi = index.MaxDiff[t] + cHi - mLo;
        var nearest = diffLo > 0 ? diffLo : diffHi < 0 ? -diffHi : 0;
        return q.Constant + q.SumWeight * sum - q.DiffWeight * nearest;
    }

    /// <summary>
    /// The largest c + s(a + b) − w|a − b| over the box: the function is concave and linear on each side of a = b,
    /// so the maximum is at a corner or where the diagonal crosses the box.
    /// </summary>
    private static double MaxOnBox(double c, double s, double w, double aLo, double aHi, double bLo, double bHi)
    {
        static double F(double c, double s, double w, double a, double b) => c + s * (a + b) - w * Math.Abs(a - b);
        var best = Math.Max(Math.Max(F(c, s, w, aLo, bLo), F(c, s, w, aLo, bHi)), Math.Max(F(c, s, w, aHi, bLo), F(c, s, w, aHi, bHi)));
        double lo = Math.Max(aLo, bLo), hi = Math.Min(aHi, bHi);
        if (lo <= hi) best = Math.Max(best, Math.Max(F(c, s, w, lo, lo), F(c, s, w, hi, hi)));
        return best;
    }
}
