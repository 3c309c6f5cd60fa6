namespace VirtualCluster.Scheduling;

/// <summary>
/// Feasibility-aware share maxima. A subtree's largest CPU share is often a node too full to take the request, so
/// a bound from it is loose for binpack (which wants the fullest node that still fits). Per tree node and level k,
/// the largest CPU share (and CPU + memory share) among the nodes with at least <see cref="CpuLevels"/>[k] free CPU,
/// and the same for memory. A node that can take a request of r has free ≥ r ≥ the largest level ≤ r, so the
/// maxima at that level bound every node that passes the resource filter.
/// </summary>
internal sealed partial class PlacementIndex
{
    /// <summary>Levels per dimension: level 0 holds every node, level j ≥ 1 the nodes with ≥ base·2^(j−1) free.</summary>
    internal const int Levels = 10;

    internal long[] CpuLevels = [], MemLevels = [];

    /// <summary>At one level: the largest current share of the dimension, and of cpu + memory share, among the nodes below that reach it.</summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    internal struct LevelMax
    {
        public double Hi, Sum;
    }

    // [k][t]: per level a tree-shaped array, so a search (one level per dimension) reads a child pair from one cache line.
    internal LevelMax[][] CpuAt = [], MemAt = [];

    private void InitLevels(int size)
    {
        long cpu = 1, memory = 1;
        for (var i = 0; i < _s.Count; i++)
        {
            cpu = Math.Max(cpu, _s.CapCpu[i]);
            memory = Math.Max(memory, _s.CapMem[i]);
        }
        CpuLevels = MakeLevels(cpu);
        MemLevels = MakeLevels(memory);
        CpuAt = new LevelMax[Levels][];
        MemAt = new LevelMax[Levels][];
        for (var k = 0; k < Levels; k++)
        {
            CpuAt[k] = new LevelMax[size];
            MemAt[k] = new LevelMax[size];
        }
    }

    private static long[] MakeLevels(long largestCapacity)
    {
        var levels = new long[Levels];
        levels[0] = long.MinValue;
        var step = Math.Max(1, largestCapacity / 1024);
        for (var j = 1; j < Levels; j++, step *= 2) levels[j] = step;
        return levels;
    }

    /// <summary>The highest level whose threshold is at most <paramref name="request"/>.</summary>
    internal static int LevelOf(long[] levels, long request)
    {
        var k = 0;
        while (k + 1 < Levels && levels[k + 1] <= request) k++;
        return k;
    }

    private void LeafLevels(int t, int start, int count)
    {
        Span<LevelMax> cpuAt = stackalloc LevelMax[Levels], memAt = stackalloc LevelMax[Levels];
        cpuAt.Fill(new LevelMax { Hi = double.NegativeInfinity, Sum = double.NegativeInfinity });
        memAt.Fill(new LevelMax { Hi = double.NegativeInfinity, Sum = double.NegativeInfinity });
        for (var p = start; p < start + count; p++)
        {
            var i = _order[p];
            if (i < 0) continue;
            var cpu = _s.UseCpu[i] * _s.InvCpu[i];
            var memory = _s.UseMem[i] * _s.InvMem[i];
            var sum = cpu + memory;
            long freeCpu = _s.CapCpu[i] - _s.UseCpu[i], freeMem = _s.CapMem[i] - _s.UseMem[i];
            // Only at the highest level the node reaches; the suffix maxima below carry it to the lower levels.
            var kc = TopLevel(CpuLevels, freeCpu);
            if (kc >= 0)
            {
                if (cpu > cpuAt[kc].Hi) cpuAt[kc].Hi = cpu;
                if (sum > cpuAt[kc].Sum) cpuAt[kc].Sum = sum;
            }
            var km = TopLevel(MemLevels, freeMem);
            if (km >= 0)
            {
                if (memory > memAt[km].Hi) memAt[km].Hi = memory;
                if (sum > memAt[km].Sum) memAt[km].Sum = sum;
            }
        }
        for (var k = Levels - 1; k >= 0; k--)
        {
            if (k + 1 < Levels)
            {
                cpuAt[k].Hi = Math.Max(cpuAt[k].Hi, cpuAt[k + 1].Hi);
                cpuAt[k].Sum = Math.Max(cpuAt[k].Sum, cpuAt[k + 1].Sum);
                memAt[k].Hi = Math.Max(memAt[k].Hi, memAt[k + 1].Hi);
                memAt[k].Sum = Math.Max(memAt[k].Sum, memAt[k + 1].Sum);
            }
            CpuAt[k][t] = cpuAt[k];
            MemAt[k][t] = memAt[k];
        }
    }

    /// <summary>The highest level whose threshold is at most <paramref name="free"/>; −1 when none is (level 0 takes every node).</summary>
    private static int TopLevel(long[] levels, long free)
    {
        var k = -1;
        while (k + 1 < Levels && levels[k + 1] <= free) k++;
        return k;
    }

    /// <summary>Recomputes the level maxima of tree node t from its children; false when none changed.</summary>
    private bool CombineLevels(int t)
    {
        var changed = false;
        for (var k = 0; k < Levels; k++)
        {
            changed |= Max(CpuAt[k], t);
            changed |= Max(MemAt[k], t);
        }
        return changed;
    }

    private static bool Max(LevelMax[] at, int t)
    {
        ref readonly var a = ref at[2 * t];
        ref readonly var b = ref at[2 * t + 1];
        double hi = Math.Max(a.Hi, b.Hi), sum = Math.Max(a.Sum, b.Sum);
        ref var slot = ref at[t];
        var changed = slot.Hi != hi || slot.Sum != sum;
        slot.Hi = hi;
        slot.Sum = sum;
        return changed;
    }
}
