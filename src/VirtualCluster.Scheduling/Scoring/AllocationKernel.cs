namespace VirtualCluster.Scheduling;

/// <summary>
/// The built-in allocation scorers (most-allocated or least-allocated, and balanced) computed in one pass over the
/// nodes, since they read the same shares. Gives exactly Σ wᵢ·scoreᵢ of the separate scorers (the separate ones
/// still serve explanations and custom strategies); the pipeline uses it when a strategy holds these built-ins.
/// </summary>
internal static class AllocationKernel
{
    /// <summary>Adds wMost·most + wLeast·least + wBalanced·balanced for each node (CPU and memory only).</summary>
    public static void Score(PlacementContext context, ReadOnlySpan<int> nodes, double wMost, double wLeast, double wBalanced, Span<double> totals)
    {
        var s = context.Cluster;
        var d = context.Demand;
        long cpu = d.CpuMillicores, memory = d.MemoryBytes;
        long[] useCpu = s.UseCpu, useMem = s.UseMem;
        double[] invCpu = s.InvCpu, invMem = s.InvMem;
        // most = 50(a + b), least = 100 − 50(a + b), balanced = 100 − 50|a − b|.
        var sumWeight = 50 * (wMost - wLeast);
        var constant = 100 * (wLeast + wBalanced);
        var diffWeight = 50 * wBalanced;
        for (var k = 0; k < nodes.Length; k++)
        {
            var i = Unchecked.Get(nodes, k);
            var a = (Unchecked.At(useCpu, i) + cpu) * Unchecked.At(invCpu, i);
            var b = (Unchecked.At(useMem, i) + memory) * Unchecked.At(invMem, i);
            Unchecked.At(totals, k) += constant + sumWeight * (a + b) - diffWeight * Math.Abs(a - b);
        }
    }

    /// <summary>True when the kernel can stand in for these scorers on this request (two dimensions only).</summary>
    public static bool Covers(PlacementContext context) => context.Demand.DiskBytes == 0 && context.Demand.Gpus == 0;
}
