namespace VirtualCluster.Benchmarks.Scheduling;

/// <summary>
/// The reference of the throughput benchmark: first fit over plain arrays of free CPU, memory, disk, GPUs and ports
/// (structure of arrays, nodes in name order), with none of the pipeline's other rules, scores or explanations.
/// The cheapest thing that still answers "which node has room".
/// </summary>
internal sealed class BareFirstFit
{
    private readonly long[] _cpu, _memory, _disk;
    private readonly int[] _gpus, _ports;

    public BareFirstFit(ClusterState state)
    {
        var n = state.Count;
        _cpu = new long[n]; _memory = new long[n]; _disk = new long[n]; _gpus = new int[n]; _ports = new int[n];
        for (var i = 0; i < n; i++)
        {
            var free = state.Free(i);
            (_cpu[i], _memory[i], _disk[i], _gpus[i], _ports[i]) = (free.CpuMillicores, free.MemoryBytes, free.DiskBytes, free.Gpus, state.FreePortCount(i));
        }
    }

    /// <summary>
    /// The same nodes as a first-fit scheduler leaves them: empty, then filled by <see cref="Place"/> round-robin over
    /// <paramref name="specs"/> (GPU ones aside) until <paramref name="fill"/> of the CPU is taken. The first nodes
    /// in name order are then full, so each placement scans past them, as first fit does in production.
    /// </summary>
    public static BareFirstFit FilledByFirstFit(ClusterState empty, IReadOnlyList<ServiceSpec> specs, double fill)
    {
        var bare = new BareFirstFit(empty);
        long capacity = 0, used = 0;
        for (var i = 0; i < empty.Count; i++) capacity += empty.Capacity(i).CpuMillicores;
        var misses = 0;
        for (var k = 0; used < fill * capacity && misses < specs.Count; k++)
        {
            var spec = specs[k % specs.Count];
            if (spec.Resources.Gpus > 0 || bare.Place(spec) < 0)
            {
                misses++;
                continue;
            }
            used += spec.Resources.CpuMillicores;
            misses = 0;
        }
        return bare;
    }

    /// <summary>Nodes looked at, summed over calls.</summary>
    public long Visited { get; private set; }

    public int Place(ServiceSpec spec)
    {
        var r = spec.Resources;
        long cpu = r.CpuMillicores, memory = r.MemoryBytes, disk = r.DiskBytes;
        int gpus = r.Gpus, ports = spec.Ports.Count;
        for (var i = 0; i < _cpu.Length; i++)
        {
            if (_cpu[i] < cpu || _memory[i] < memory || _disk[i] < disk || _gpus[i] < gpus || _ports[i] < ports) continue;
            Visited += i + 1;
            Book(i, r, ports, -1);
            return i;
        }
        Visited += _cpu.Length;
        return -1;
    }

    /// <summary>
    /// The same arrays scanned to the end, keeping the feasible node with the least free CPU + memory after placing
    /// (best fit): what answering "which node is best" costs without an index, rules or scores.
    /// </summary>
    public int PlaceBestFit(ServiceSpec spec)
    {
        var r = spec.Resources;
        long cpu = r.CpuMillicores, memory = r.MemoryBytes, disk = r.DiskBytes;
        int gpus = r.Gpus, ports = spec.Ports.Count;
        var best = -1;
        var bestLeft = long.MaxValue;
        for (var i = 0; i < _cpu.Length; i++)
        {
            if (_cpu[i] < cpu || _memory[i] < memory || _disk[i] < disk || _gpus[i] < gpus || _ports[i] < ports) continue;
            var left = (_cpu[i] - cpu) + ((_memory[i] - memory) >> 20);
            if (left < bestLeft) (best, bestLeft) = (i, left);
        }
        Visited += _cpu.Length;
        if (best >= 0) Book(best, r, ports, -1);
        return best;
    }

    public void Release(int node, ServiceSpec spec) => Book(node, spec.Resources, spec.Ports.Count, +1);

    private void Book(int i, Resources r, int ports, int sign)
    {
        _cpu[i] += sign * r.CpuMillicores;
        _memory[i] += sign * r.MemoryBytes;
        _disk[i] += sign * r.DiskBytes;
        _gpus[i] += sign * r.Gpus;
        _ports[i] += sign * ports;
    }
}
