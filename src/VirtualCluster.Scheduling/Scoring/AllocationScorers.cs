using System.Runtime.CompilerServices;

namespace VirtualCluster.Scheduling;

/// <summary>
/// Shares of a node's capacity that would be in use after placing the request, per dimension:
/// share_d = (used_d + request_d) / capacity_d, within 0..1 on every node that passes the resource filter (scores of
/// nodes that do not, shown in explanations, are clamped to 0..100). CPU and memory always count; disk and GPUs
/// only when the spec requests them.
/// </summary>
internal static class Shares
{
    /// <summary>
    /// One share. For a node that passes the resource filter, used + request ≤ capacity, so the share is within 0..1
    /// without clamping (a dimension without capacity passes only a zero request, and its share is then 0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Share(long used, double inverse) => used * inverse;

    /// <summary>Shares of node <paramref name="i"/> after placing <paramref name="d"/>: CPU, memory, then disk and GPUs when requested.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Of(ClusterState s, int i, Resources d, out double a, out double b, out double c, out double e)
    {
        a = Share(Unchecked.At(s.UseCpu, i) + d.CpuMillicores, Unchecked.At(s.InvCpu, i));
        b = Share(Unchecked.At(s.UseMem, i) + d.MemoryBytes, Unchecked.At(s.InvMem, i));
        c = 0;
        e = 0;
        var n = 2;
        if (d.DiskBytes > 0)
        {
            c = Share(Unchecked.At(s.UseDisk, i) + d.DiskBytes, Unchecked.At(s.InvDisk, i));
            n++;
        }
        if (d.Gpus > 0)
        {
            e = Share(Unchecked.At(s.AllocGpu, i) + d.Gpus, Unchecked.At(s.InvGpu, i));
            n++;
        }
        return n;
    }

    /// <summary>Mean share over the counted dimensions (the most-allocated score / 100).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Mean(ClusterState s, int i, Resources d)
    {
        var n = Of(s, i, d, out var a, out var b, out var c, out var e);
        return (a + b + c + e) / n;
    }
}

/// <summary>
/// Bin packing (Kubernetes' MostAllocated, Nomad's binpack): score = 100 × mean over dimensions of share_d, where
/// share_d = (used_d + request_d) / capacity_d after placing (see the Shares rules: CPU and memory always, disk and
/// GPUs when requested). Fuller nodes score higher, so work packs onto few machines and whole ones stay free.
/// </summary>
public sealed class MostAllocatedScorer : IScorer
{
    /// <inheritdoc />
    public string Name => ScorerNames.MostAllocated;

    /// <inheritdoc />
    public bool AppliesTo(PlacementContext context) => true;

    /// <inheritdoc />
    public void Score(PlacementContext context, ReadOnlySpan<int> nodes, double weight, Span<double> totals)
    {
        var s = context.Cluster;
        var d = context.Demand;
        if (d.DiskBytes == 0 && d.Gpus == 0)
        {
            // The common case, unrolled: CPU and memory only.
            long cpu = d.CpuMillicores, memory = d.MemoryBytes;
            long[] useCpu = s.UseCpu, useMem = s.UseMem;
            double[] invCpu = s.InvCpu, invMem = s.InvMem;
            var w = weight * 50; // 100 × mean of two shares
            for (var k = 0; k < nodes.Length; k++)
            {
                var i = Unchecked.Get(nodes, k);
                Unchecked.At(totals, k) += w * (Shares.Share(Unchecked.At(useCpu, i) + cpu, Unchecked.At(invCpu, i))
                    + Shares.Share(Unchecked.At(useMem, i) + memory, Unchecked.At(invMem, i)));
            }
            return;
        }
        for (var k = 0; k < nodes.Length; k++) Unchecked.At(totals, k) += weight * 100 * Shares.Mean(s, Unchecked.Get(nodes, k), d);
    }
}

/// <summary>
/// Spreading (Kubernetes' LeastAllocated): score = 100 × mean over dimensions of (1 − share_d), the share of each
/// dimension left free after placing. Emptier nodes score higher.
/// </summary>
public sealed class LeastAllocatedScorer : IScorer
{
    /// <inheritdoc />
    public string Name => ScorerNames.LeastAllocated;

    /// <inheritdoc />
    public bool AppliesTo(PlacementContext context) => true;

    /// <inheritdoc />
    public void Score(PlacementContext context, ReadOnlySpan<int> nodes, double weight, Span<double> totals)
    {
        var s = context.Cluster;
        var d = context.Demand;
        for (var k = 0; k < nodes.Length; k++) Unchecked.At(totals, k) += weight * 100 * (1 - Shares.Mean(s, Unchecked.Get(nodes, k), d));
    }
}

/// <summary>
/// Balance across dimensions (Kubernetes' BalancedResourceAllocation): score = 100 × (1 − σ), where σ is the
/// population standard deviation of the shares after placing. A node whose CPU and memory fill at the same rate
/// scores 100; one with CPU full and memory empty scores 50. Keeps capacity from being stranded in one dimension.
/// </summary>
public sealed class BalancedAllocationScorer : IScorer
{
    /// <inheritdoc />
    public string Name => ScorerNames.Balanced;

    /// <inheritdoc />
    public bool AppliesTo(PlacementContext context) => true;

    /// <inheritdoc />
    public void Score(PlacementContext context, ReadOnlySpan<int> nodes, double weight, Span<double> totals)
    {
        var s = context.Cluster;
        var d = context.Demand;
        if (d.DiskBytes == 0 && d.Gpus == 0)
        {
            // Two dimensions: σ = |a − b| / 2.
            long cpu = d.CpuMillicores, memory = d.MemoryBytes;
            long[] useCpu = s.UseCpu, useMem = s.UseMem;
            double[] invCpu = s.InvCpu, invMem = s.InvMem;
            var w = weight * 100;
            for (var k = 0; k < nodes.Length; k++)
            {
                var i = Unchecked.Get(nodes, k);
                var diff = Shares.Share(Unchecked.At(useCpu, i) + cpu, Unchecked.At(invCpu, i))
                    - Shares.Share(Unchecked.At(useMem, i) + memory, Unchecked.At(invMem, i));
                Unchecked.At(totals, k) += w * (1 - Math.Abs(diff) * 0.5);
            }
            return;
        }
        for (var k = 0; k < nodes.Length; k++)
        {
            var n = Shares.Of(s, Unchecked.Get(nodes, k), d, out var a, out var b, out var c, out var e);
            var mean = (a + b + c + e) / n;
            // Dimensions not counted are 0 in c and e; leave them out of the variance.
            var variance = (a - mean) * (a - mean) + (b - mean) * (b - mean)
                + (d.DiskBytes > 0 ? (c - mean) * (c - mean) : 0) + (d.Gpus > 0 ? (e - mean) * (e - mean) : 0);
            Unchecked.At(totals, k) += weight * 100 * (1 - Math.Sqrt(variance / n));
        }
    }
}
