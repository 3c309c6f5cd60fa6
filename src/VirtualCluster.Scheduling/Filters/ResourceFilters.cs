namespace VirtualCluster.Scheduling;

/// <summary>
/// CPU, memory, disk and GPUs: for every dimension, effective use + request ≤ capacity, where effective use is the
/// larger of reservations and measured use (see <see cref="ClusterState"/>). Kubernetes' NodeResourcesFit.
/// </summary>
public sealed class ResourceFilter : IPlacementFilter
{
    /// <summary>Dimension names used in explanations.</summary>
    public const string Cpu = "cpu", Memory = "memory", Disk = "disk", Gpus = "gpus";

    /// <inheritdoc />
    public string Name => FilterNames.Resources;

    /// <inheritdoc />
    public bool IsStatic => false;

    /// <inheritdoc />
    public bool AppliesTo(PlacementContext context) => true;

    /// <inheritdoc />
    public int Filter(PlacementContext context, Span<int> nodes)
    {
        var s = context.Cluster;
        var d = context.Demand;
        long cpu = d.CpuMillicores, memory = d.MemoryBytes, disk = d.DiskBytes;
        int gpus = d.Gpus;
        long[] useCpu = s.UseCpu, capCpu = s.CapCpu, useMem = s.UseMem, capMem = s.CapMem, useDisk = s.UseDisk, capDisk = s.CapDisk;
        int[] allocGpu = s.AllocGpu, capGpu = s.CapGpu;
        var kept = 0;
        if (disk == 0 && gpus == 0)
        {
            // Branch-free compaction: the slack of each dimension is negative exactly when it does not fit, so the
            // sign bit of their OR says whether to keep the node. Half-full clusters make a branch unpredictable.
            for (var k = 0; k < nodes.Length; k++)
            {
                var i = Unchecked.At(nodes, k);
                var slack = (Unchecked.At(capCpu, i) - Unchecked.At(useCpu, i) - cpu) | (Unchecked.At(capMem, i) - Unchecked.At(useMem, i) - memory);
                Unchecked.At(nodes, kept) = i;
                kept += 1 - (int)((ulong)slack >> 63);
            }
            return kept;
        }
        for (var k = 0; k < nodes.Length; k++)
        {
            var i = Unchecked.At(nodes, k);
            if (Unchecked.At(useCpu, i) + cpu <= Unchecked.At(capCpu, i) && Unchecked.At(useMem, i) + memory <= Unchecked.At(capMem, i)
                && Unchecked.At(useDisk, i) + disk <= Unchecked.At(capDisk, i) && Unchecked.At(allocGpu, i) + gpus <= Unchecked.At(capGpu, i))
            {
                Unchecked.At(nodes, kept++) = i;
            }
        }
        return kept;
    }

    /// <inheritdoc />
    public void Explain(PlacementContext context, int node, List<string> reasons)
    {
        var free = context.Cluster.Free(node);
        var d = context.Demand;
        if (free.CpuMillicores < d.CpuMillicores) reasons.Add(Cpu);
        if (free.MemoryBytes < d.MemoryBytes) reasons.Add(Memory);
        if (free.DiskBytes < d.DiskBytes) reasons.Add(Disk);
        if (free.Gpus < d.Gpus) reasons.Add(Gpus);
    }
}

/// <summary>The node has a free host port in its range for each named port of the spec.</summary>
public sealed class PortFilter : IPlacementFilter
{
    /// <summary>Dimension name used in explanations.</summary>
    public const string Ports = "ports";

    /// <inheritdoc />
    public string Name => FilterNames.Ports;

    /// <inheritdoc />
    public bool IsStatic => false;

    /// <inheritdoc />
    public bool AppliesTo(PlacementContext context) => context.PortsNeeded > 0;

    /// <inheritdoc />
    public int Filter(PlacementContext context, Span<int> nodes)
    {
        var free = context.Cluster.FreePorts;
        var need = context.PortsNeeded;
        var kept = 0;
        for (var k = 0; k < nodes.Length; k++)
        {
            var i = Unchecked.At(nodes, k);
            if (Unchecked.At(free, i) >= need) Unchecked.At(nodes, kept++) = i;
        }
        return kept;
    }

    /// <inheritdoc />
    public void Explain(PlacementContext context, int node, List<string> reasons)
    {
        if (context.Cluster.FreePorts[node] < context.PortsNeeded) reasons.Add(Ports);
    }
}
