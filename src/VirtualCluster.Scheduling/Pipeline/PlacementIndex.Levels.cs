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
    // [t * Levels + k]: largest current share of the dimension, and of cpu + memory, among the nodes of t at level k.
    internal double[] HiCpuAt = [], SumCpuAt = [], HiMemAt = [], SumMemAt = [];

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
        HiCpuAt = new double[size * Levels];
        SumCpuAt = new double[size * Levels];
        HiMemAt = new double[size * Levels];
        SumMemAt = new double[size * Levels];
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
        var at = t * Levels;
        for (var k = 0; k < Levels; k++)
            HiCpuAt[at + k] = SumCpuAt[at + k] = HiMemAt[at + k] = SumMemAt[at + k] = double.NegativeInfinity;
        for (var p = start; p < start + count; p++)
        {
            var i = _order[p];
            if (i < 0) continue;
            var cpu = _s.UseCpu[i] * _s.InvCpu[i];
            var memory = _s.UseMem[i] * _s.InvMem[i];
            var sum = cpu + memory;
            long freeCpu = _s.CapCpu[i] - _s.UseCpu[i], freeMem = _s.CapMem[i] - _s.UseMem[i];
            for (var k = 0; k < Levels && CpuLevels[k] <= freeCpu; k++)
            {
                if (cpu > HiCpuAt[at + k]) HiCpuAt[at + k] = cpu;
                if (sum > SumCpuAt[at + k]) SumCpuAt[at + k] = sum;
            }
            for (var k = 0; k < Levels && MemLevels[k] <= freeMem; k++)
            {
                if (memory > HiMemAt[at + k]) HiMemAt[at + k] = memory;
                if (sum > SumMemAt[at + k]) SumMemAt[at + k] = sum;
            }
        }
    }

    /// <summary>Recomputes the level maxima of tree node t from its children; false when none changed.</summary>
    private bool CombineLevels(int t)
    {
        int at = t * Levels, l = 2 * t * Levels, r = l + Levels;
        var changed = false;
        for (var k = 0; k < Levels; k++)
        {
            changed |= Set(ref HiCpuAt[at + k], Math.Max(HiCpuAt[l + k], HiCpuAt[r + k]));
            changed |= Set(ref SumCpuAt[at + k], Math.Max(SumCpuAt[l + k], SumCpuAt[r + k]));
            changed |= Set(ref HiMemAt[at + k], Math.Max(HiMemAt[l + k], HiMemAt[r + k]));
            changed |= Set(ref SumMemAt[at + k], Math.Max(SumMemAt[l + k], SumMemAt[r + k]));
        }
        return changed;
    }
}
