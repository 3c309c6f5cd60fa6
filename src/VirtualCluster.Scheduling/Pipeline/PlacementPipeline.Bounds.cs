namespace VirtualCluster.Scheduling;

/// <summary>Upper bounds of a subtree's best total for the indexed search (<see cref="PlacementPipeline"/>'s TrySelectIndexed).</summary>
public sealed partial class PlacementPipeline
{
    /// <summary>An upper bound on Σ wᵢ·scoreᵢ over the nodes below tree node <paramref name="t"/> that pass every filter; −∞ when none can.</summary>
    private static double Bound(PlacementIndex index, PlacementIndex.SpecView view, BoundInputs q, int t)
    {
        // No node below reaches the level: none can take the request. On the spec's own level that is also every
        // static filter, resource and port check, so those are read only on a shared level.
        ref readonly var at = ref q.At[t];
        if (at.HiCpu == double.NegativeInfinity) return double.NegativeInfinity;
        ref readonly var f = ref index.Tree[t];
        if (!q.OwnLevel)
        {
            if (!view.AnyStatic[t]) return double.NegativeInfinity;
            if (q.Resources && (f.FreeCpu < q.Cpu || f.FreeMem < q.Memory || f.FreeDisk < q.Disk || f.FreeGpus < q.Gpus))
                return double.NegativeInfinity;
            if (q.Ports > 0 && f.FreePorts < q.Ports) return double.NegativeInfinity;
        }
        var bound = q.Rules;
        if (q.WithoutReplica is { } withoutReplica && withoutReplica[t] == 0)
        {
            index.Stats.ReplicaPrunes++;
            // Every node below runs a replica: none passes required anti-affinity, and preferred scores each at
            // most 100·(1 − 1/(T + 1)).
            if (q.AntiRequired is { Length: > 0 }) return double.NegativeInfinity;
            bound -= 100 * q.AntiWeight * q.AntiScale;
        }
        // The best affinity among the nodes that could take the request, when the spec's level keeps it.
        if (q.Affinity > 0) bound += q.Affinity * (q.LevelAffinity ? at.Affinity : view.AffinityMax![t]);
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
        double hiCpu = at.HiCpu, hiMem = at.HiMem;
        var maxSum = at.Sum;
        double cLo = q.Cpu * f.LoInvCpu, cHi = q.Cpu * f.HiInvCpu;
        double mLo = q.Memory * f.LoInvMem, mHi = q.Memory * f.HiInvMem;
        Range(q, f.LoCpu + cLo, hiCpu + cHi, out var aLo, out var aHi);
        Range(q, f.LoMem + mLo, hiMem + mHi, out var bLo, out var bHi);
        // Each node's own a + b and a − b lie within the ranges of its current ones plus the request's shares, which
        // is tighter than the box of the two ranges.
        double diffLo = f.MinDiff + cLo - mHi, diffHi = f.MaxDiff + cHi - mLo;
        if (q.Fused)
        {
            var sum = q.SumWeight >= 0 ? maxSum + cHi + mHi : f.MinSum + cLo + mLo;
            var bySum = q.Constant + q.SumWeight * sum - q.DiffWeight * Gap(diffLo, diffHi);
            var allocation = Math.Min(MaxOnBox(q.Constant, q.SumWeight, q.DiffWeight, aLo, aHi, bLo, bHi), bySum);
            // With s = ±2w the score is C ± w times the lower (upper) envelope of two lines; their extremes below t
            // bound it, and unlike the box they come from each node's own pair of shares.
            if (q.Envelope > 0)
            {
                var p = at.P + cHi + 3 * mHi;
                var r = at.Q + 3 * cHi + mHi;
                allocation = Math.Min(allocation, q.Constant + q.DiffWeight * Math.Min(p, r));
            }
            else if (q.Envelope < 0)
            {
                var p = f.MinP + cLo + 3 * mLo;
                var r = f.MinQ + 3 * cLo + mLo;
                allocation = Math.Min(allocation, q.Constant - q.DiffWeight * Math.Max(p, r));
            }
            return bound + allocation;
        }
        return bound + Unfused(index, q, t, in f, maxSum, aLo, aHi, bLo, bHi, cLo, cHi, mLo, mHi, Gap(diffLo, diffHi));
    }

    /// <summary>The allocation part of the bound when the request has disk or GPUs (mean and deviation over up to four shares).</summary>
    private static double Unfused(PlacementIndex index, BoundInputs q, int t, in PlacementIndex.Figures f, double maxSum,
        double aLo, double aHi, double bLo, double bHi, double cLo, double cHi, double mLo, double mHi, double gap)
    {
        double sumLo = Math.Max(aLo + bLo, f.MinSum + cLo + mLo), sumHi = Math.Min(aHi + bHi, maxSum + cHi + mHi);
        ref readonly var x = ref index.Extra[t];
        double dLo = 0, dHi = 0;
        if (q.Disk > 0)
        {
            Range(q, x.LoDisk + q.Disk * x.LoInvDisk, x.HiDisk + q.Disk * x.HiInvDisk, out dLo, out dHi);
            sumLo += dLo;
            sumHi += dHi;
            gap = Math.Max(gap, Math.Max(Gap(aLo - dHi, aHi - dLo), Gap(bLo - dHi, bHi - dLo)));
        }
        if (q.Gpus > 0)
        {
            Range(q, x.LoGpu + q.Gpus * x.LoInvGpu, x.HiGpu + q.Gpus * x.HiInvGpu, out var lo, out var hi);
            sumLo += lo;
            sumHi += hi;
            gap = Math.Max(gap, Math.Max(Gap(aLo - hi, aHi - lo), Gap(bLo - hi, bHi - lo)));
            if (q.Disk > 0) gap = Math.Max(gap, Gap(dLo - hi, dHi - lo));
        }
        // Balanced: 100 × (1 − σ) with σ = √(Σ(x − mean)² / n) ≥ |x − y| / √(2n) for any two shares x, y of a node,
        // since Σ(x − mean)² ≥ (x − mean)² + (y − mean)² ≥ (x − y)² / 2. The gap is the least |x − y| below t.
        return q.Most * 100 * sumHi / q.Dimensions + q.Least * 100 * (1 - sumLo / q.Dimensions)
            + q.Balanced * 100 * (1 - gap * q.InvRootTwoDimensions);
    }

    /// <summary>The least |x| for x in [lo, hi].</summary>
    private static double Gap(double lo, double hi) => lo > 0 ? lo : hi < 0 ? -hi : 0;

    /// <summary>
    /// The range of share_d = (use_d + request_d) / capacity_d below a tree node, from the smallest current share plus
    /// the smallest request share and the largest of each.
    /// </summary>
    private static void Range(BoundInputs q, double low, double high, out double lo, out double hi)
    {
        lo = low;
        hi = high;
        // A node passing the resource filter has use + request ≤ capacity, so its share is at most 1.
        if (q.ClipShares && hi > 1) hi = 1;
        if (lo > hi) lo = hi;
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
