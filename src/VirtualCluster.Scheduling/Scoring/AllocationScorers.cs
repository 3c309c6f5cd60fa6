namespace VirtualCluster.Scheduling;

/// <summary>
/// Shares of a node's capacity that would be in use after placing the request, per dimension:
/// share_d = clamp((used_d + request_d) / capacity_d, 0, 1), with a dimension of zero capacity counting as full.
/// CPU and memory always count; disk and GPUs only when the spec requests them.
/// </summary>
internal static class Shares
{
    public static int Dimensions(Resources demand) => 2 + (demand.DiskBytes > 0 ? 1 : 0) + (demand.Gpus > 0 ? 1 : 0);

    /// <summary>Writes the shares of node <paramref name="i"/> into <paramref name="shares"/> and returns how many.</summary>
    public static int Of(ClusterState s, int i, Resources d, Span<double> shares)
    {
        shares[0] = Share(s.UseCpu[i] + d.CpuMillicores, s.InvCpu[i]);
        shares[1] = Share(s.UseMem[i] + d.MemoryBytes, s.InvMem[i]);
        var n = 2;
        if (d.DiskBytes > 0) shares[n++] = Share(s.UseDisk[i] + d.DiskBytes, s.InvDisk[i]);
        if (d.Gpus > 0) shares[n++] = Share(s.AllocGpu[i] + d.Gpus, s.InvGpu[i]);
        return n;
    }

    public static double Share(long used, double inverse) => inverse == 0 ? 1 : Math.Clamp(used * inverse, 0, 1);

    /// <summary>Mean share over the counted dimensions (the most-allocated score / 100).</summary>
    public static double Mean(ClusterState s, int i, Resources d)
    {
        var sum = Share(s.UseCpu[i] + d.CpuMillicores, s.InvCpu[i]) + Share(s.UseMem[i] + d.MemoryBytes, s.InvMem[i]);
        var n = 2;
        if (d.DiskBytes > 0) { sum += Share(s.UseDisk[i] + d.DiskBytes, s.InvDisk[i]); n++; }
        if (d.Gpus > 0) { sum += Share(s.AllocGpu[i] + d.Gpus, s.InvGpu[i]); n++; }
        return sum / n;
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
                var i = nodes[k];
                totals[k] += w * (Shares.Share(useCpu[i] + cpu, invCpu[i]) + Shares.Share(useMem[i] + memory, invMem[i]));
            }
            return;
        }
        for (var k = 0; k < nodes.Length; k++) totals[k] += weight * 100 * Shares.Mean(s, nodes[k], d);
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
        for (var k = 0; k < nodes.Length; k++) totals[k] += weight * 100 * (1 - Shares.Mean(s, nodes[k], d));
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
                var i = nodes[k];
                var diff = Shares.Share(useCpu[i] + cpu, invCpu[i]) - Shares.Share(useMem[i] + memory, invMem[i]);
                totals[k] += w * (1 - Math.Abs(diff) * 0.5);
            }
            return;
        }
        Span<double> shares = stackalloc double[4];
        for (var k = 0; k < nodes.Length; k++)
        {
            var n = Shares.Of(s, nodes[k], d, shares);
            double mean = 0, variance = 0;
            for (var j = 0; j < n; j++) mean += shares[j];
            mean /= n;
            for (var j = 0; j < n; j++) variance += (shares[j] - mean) * (shares[j] - mean);
            totals[k] += weight * 100 * (1 - Math.Sqrt(variance / n));
        }
    }
}
