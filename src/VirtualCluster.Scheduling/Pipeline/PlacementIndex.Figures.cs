using System.Runtime.InteropServices;

namespace VirtualCluster.Scheduling;

/// <summary>
/// The figures of one tree node, kept in one struct per tree node (two cache lines) rather than one array per figure:
/// a bound reads about twenty of them, which as separate arrays cost about twenty cache lines per bound.
/// </summary>
internal sealed partial class PlacementIndex
{
    /// <summary>What every bound reads, for the nodes below one tree node.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Figures
    {
        // Largest free amount per dimension and largest count of free ports.
        public long FreeCpu, FreeMem, FreeDisk, FreeGpus;
        // Smallest current CPU and memory share; range of the inverse capacities.
        public double LoCpu, LoMem, LoInvCpu, HiInvCpu, LoInvMem, HiInvMem;
        // Range of (cpu share + memory share) and (cpu share − memory share): tighter than the box of the two.
        public double MinSum, MinDiff, MaxDiff;
        // Smallest cpu + 3·memory and 3·cpu + memory share (the two lines whose upper envelope bounds spread's score).
        public double MinP, MinQ;
        public int FreePorts;
        // Rep: the first node in slot order (also the lowest index of a run of identical nodes); MinIndex: the lowest index.
        public int Rep, MinIndex;
        // Same: every node below has the same group, capacity and use, so the same score up to its own service count.
        // UniformUse: every node below has the same capacity and use (groups may differ).
        public bool Same, UniformUse;

        public static Figures Empty => new()
        {
            FreeCpu = long.MinValue, FreeMem = long.MinValue, FreeDisk = long.MinValue, FreeGpus = long.MinValue,
            LoCpu = double.PositiveInfinity, LoMem = double.PositiveInfinity,
            LoInvCpu = double.PositiveInfinity, HiInvCpu = double.NegativeInfinity,
            LoInvMem = double.PositiveInfinity, HiInvMem = double.NegativeInfinity,
            MinSum = double.PositiveInfinity, MinDiff = double.PositiveInfinity, MaxDiff = double.NegativeInfinity,
            MinP = double.PositiveInfinity, MinQ = double.PositiveInfinity,
            FreePorts = int.MinValue, Rep = -1, MinIndex = int.MaxValue, Same = true, UniformUse = true,
        };
    }

    /// <summary>Share ranges of disk and GPUs, read only for requests that ask for them.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct ExtraFigures
    {
        public double LoDisk, HiDisk, LoInvDisk, HiInvDisk, LoGpu, HiGpu, LoInvGpu, HiInvGpu;

        public static ExtraFigures Empty => new()
        {
            LoDisk = double.PositiveInfinity, HiDisk = double.NegativeInfinity,
            LoInvDisk = double.PositiveInfinity, HiInvDisk = double.NegativeInfinity,
            LoGpu = double.PositiveInfinity, HiGpu = double.NegativeInfinity,
            LoInvGpu = double.PositiveInfinity, HiInvGpu = double.NegativeInfinity,
        };
    }

    /// <summary>
    /// A copy of what a node's own bound reads, per slot (so in leaf order): the nodes of a bucket sit in one run of
    /// cache lines instead of about ten scattered per-node arrays. Refreshed with the node's leaf.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct SlotFigures
    {
        public long FreeCpu, FreeMem, FreeDisk, UseCpu, UseMem;
        public double InvCpu, InvMem;
        public int FreeGpus, FreePorts;
    }

    /// <summary>Per slot, the node's figures (see <see cref="SlotFigures"/>); padding slots hold zeros.</summary>
    internal SlotFigures[] SlotNodes = [];

    /// <summary>
    /// True when every node of the bucket still has the use and free ports its slot copy holds; every figure of the
    /// leaf derives from these (capacities change only with a new layout), so the leaf and its path are current.
    /// </summary>
    private bool BucketUnchanged(int leaf)
    {
        var (start, count) = Bucket(leaf);
        var s = _s;
        for (var p = start; p < start + count; p++)
        {
            var i = _order[p];
            if (i < 0) continue;
            ref readonly var n = ref SlotNodes[p];
            if (n.UseCpu != s.UseCpu[i] || n.UseMem != s.UseMem[i] || n.FreeDisk != s.CapDisk[i] - s.UseDisk[i]
                || n.FreeGpus != (long)s.CapGpu[i] - s.AllocGpu[i] || n.FreePorts != s.FreePorts[i])
                return false;
        }
        return true;
    }

    /// <summary>
    /// Recomputes a leaf from the nodes of its bucket; returns the levels whose maxima changed (bit k: level k).
    /// With <paramref name="all"/> false the slot copies still describe the bucket as last counted (same layout),
    /// and a level that none of the changed nodes reaches, before or after, is left as it is.
    /// </summary>
    private uint Leaf(int t, bool all)
    {
        var (start, count) = Bucket(t - _leaves);
        var f = Figures.Empty;
        var x = ExtraFigures.Empty;
        var s = _s;
        Span<SlotFigures> before = stackalloc SlotFigures[BucketSize];
        var changedSlots = all ? uint.MaxValue : 0u;
        for (var p = start; p < start + count; p++)
        {
            var i = _order[p];
            if (i < 0) continue;
            var fresh = new SlotFigures
            {
                FreeCpu = s.CapCpu[i] - s.UseCpu[i], FreeMem = s.CapMem[i] - s.UseMem[i], FreeDisk = s.CapDisk[i] - s.UseDisk[i],
                UseCpu = s.UseCpu[i], UseMem = s.UseMem[i], InvCpu = s.InvCpu[i], InvMem = s.InvMem[i],
                FreeGpus = (int)Math.Clamp((long)s.CapGpu[i] - s.AllocGpu[i], int.MinValue, int.MaxValue), FreePorts = s.FreePorts[i],
            };
            if (!all && !SlotSame(in SlotNodes[p], in fresh))
            {
                before[p - start] = SlotNodes[p];
                changedSlots |= 1u << (p - start);
            }
            SlotNodes[p] = fresh;
            var cpu = s.UseCpu[i] * s.InvCpu[i];
            var memory = s.UseMem[i] * s.InvMem[i];
            var disk = s.UseDisk[i] * s.InvDisk[i];
            var gpus = s.AllocGpu[i] * s.InvGpu[i];
            f.FreeCpu = Math.Max(f.FreeCpu, s.CapCpu[i] - s.UseCpu[i]);
            f.FreeMem = Math.Max(f.FreeMem, s.CapMem[i] - s.UseMem[i]);
            f.FreeDisk = Math.Max(f.FreeDisk, s.CapDisk[i] - s.UseDisk[i]);
            f.FreeGpus = Math.Max(f.FreeGpus, (long)s.CapGpu[i] - s.AllocGpu[i]);
            f.FreePorts = Math.Max(f.FreePorts, s.FreePorts[i]);
            f.LoCpu = Math.Min(f.LoCpu, cpu);
            f.LoMem = Math.Min(f.LoMem, memory);
            f.LoInvCpu = Math.Min(f.LoInvCpu, s.InvCpu[i]);
            f.HiInvCpu = Math.Max(f.HiInvCpu, s.InvCpu[i]);
            f.LoInvMem = Math.Min(f.LoInvMem, s.InvMem[i]);
            f.HiInvMem = Math.Max(f.HiInvMem, s.InvMem[i]);
            f.MinSum = Math.Min(f.MinSum, cpu + memory);
            f.MinDiff = Math.Min(f.MinDiff, cpu - memory);
            f.MaxDiff = Math.Max(f.MaxDiff, cpu - memory);
            f.MinP = Math.Min(f.MinP, cpu + 3 * memory);
            f.MinQ = Math.Min(f.MinQ, 3 * cpu + memory);
            x.LoDisk = Math.Min(x.LoDisk, disk);
            x.HiDisk = Math.Max(x.HiDisk, disk);
            x.LoInvDisk = Math.Min(x.LoInvDisk, s.InvDisk[i]);
            x.HiInvDisk = Math.Max(x.HiInvDisk, s.InvDisk[i]);
            x.LoGpu = Math.Min(x.LoGpu, gpus);
            x.HiGpu = Math.Max(x.HiGpu, gpus);
            x.LoInvGpu = Math.Min(x.LoInvGpu, s.InvGpu[i]);
            x.HiInvGpu = Math.Max(x.HiInvGpu, s.InvGpu[i]);
            f.MinIndex = Math.Min(f.MinIndex, i);
            if (f.Rep < 0) f.Rep = i;
            else
            {
                f.Same &= Identical(f.Rep, i);
                f.UniformUse &= SameUse(f.Rep, i);
            }
        }
        Tree[t] = f;
        Extra[t] = x;
        return LeafLevels(t, start, changedSlots, before);
    }

    private static bool SlotSame(in SlotFigures a, in SlotFigures b) =>
        a.FreeCpu == b.FreeCpu && a.FreeMem == b.FreeMem && a.FreeDisk == b.FreeDisk && a.UseCpu == b.UseCpu && a.UseMem == b.UseMem
        && a.FreeGpus == b.FreeGpus && a.FreePorts == b.FreePorts && a.InvCpu.Equals(b.InvCpu) && a.InvMem.Equals(b.InvMem);

    /// <summary>
    /// Recomputes tree node t from its children: its figures, and the levels in <paramref name="levels"/> (those
    /// that changed below; cleared here where t's maxima did not change). False when nothing changed, so its
    /// ancestors stay valid.
    /// </summary>
    private bool Combine(int t, ref uint levels)
    {
        ref readonly var a = ref Tree[2 * t];
        ref readonly var b = ref Tree[2 * t + 1];
        var f = new Figures
        {
            FreeCpu = Math.Max(a.FreeCpu, b.FreeCpu),
            FreeMem = Math.Max(a.FreeMem, b.FreeMem),
            FreeDisk = Math.Max(a.FreeDisk, b.FreeDisk),
            FreeGpus = Math.Max(a.FreeGpus, b.FreeGpus),
            FreePorts = Math.Max(a.FreePorts, b.FreePorts),
            LoCpu = Math.Min(a.LoCpu, b.LoCpu),
            LoMem = Math.Min(a.LoMem, b.LoMem),
            LoInvCpu = Math.Min(a.LoInvCpu, b.LoInvCpu),
            HiInvCpu = Math.Max(a.HiInvCpu, b.HiInvCpu),
            LoInvMem = Math.Min(a.LoInvMem, b.LoInvMem),
            HiInvMem = Math.Max(a.HiInvMem, b.HiInvMem),
            MinSum = Math.Min(a.MinSum, b.MinSum),
            MinDiff = Math.Min(a.MinDiff, b.MinDiff),
            MaxDiff = Math.Max(a.MaxDiff, b.MaxDiff),
            MinP = Math.Min(a.MinP, b.MinP),
            MinQ = Math.Min(a.MinQ, b.MinQ),
            Rep = a.Rep >= 0 ? a.Rep : b.Rep,
            MinIndex = Math.Min(a.MinIndex, b.MinIndex),
            Same = a.Same && b.Same && (a.Rep < 0 || b.Rep < 0 || Identical(a.Rep, b.Rep)),
            UniformUse = a.UniformUse && b.UniformUse && (a.Rep < 0 || b.Rep < 0 || SameUse(a.Rep, b.Rep)),
        };
        ref readonly var xa = ref Extra[2 * t];
        ref readonly var xb = ref Extra[2 * t + 1];
        var x = new ExtraFigures
        {
            LoDisk = Math.Min(xa.LoDisk, xb.LoDisk),
            HiDisk = Math.Max(xa.HiDisk, xb.HiDisk),
            LoInvDisk = Math.Min(xa.LoInvDisk, xb.LoInvDisk),
            HiInvDisk = Math.Max(xa.HiInvDisk, xb.HiInvDisk),
            LoGpu = Math.Min(xa.LoGpu, xb.LoGpu),
            HiGpu = Math.Max(xa.HiGpu, xb.HiGpu),
            LoInvGpu = Math.Min(xa.LoInvGpu, xb.LoInvGpu),
            HiInvGpu = Math.Max(xa.HiInvGpu, xb.HiInvGpu),
        };
        var changed = !SameBits(ref Tree[t], ref f) | !SameBits(ref Extra[t], ref x);
        Tree[t] = f;
        Extra[t] = x;
        levels = CombineLevels(t, levels);
        return changed || levels != 0;
    }

    /// <summary>Bit for bit equal (a −0/+0 difference only costs one more step up the path).</summary>
    private static bool SameBits<T>(ref T a, ref T b) where T : struct =>
        MemoryMarshal.AsBytes(new ReadOnlySpan<T>(ref a)).SequenceEqual(MemoryMarshal.AsBytes(new ReadOnlySpan<T>(ref b)));

    /// <summary>
    /// For tests: recounts every leaf and tree node from the state and tells whether the kept figures were equal bit
    /// for bit (call after <see cref="Flush"/>). Leaves the recounted figures in place.
    /// </summary>
    internal bool FiguresMatchRecount()
    {
        var tree = (Figures[])Tree.Clone();
        var extra = (ExtraFigures[])Extra.Clone();
        var slots = (SlotFigures[])SlotNodes.Clone();
        var levels = At.Select(a => (LevelMax[])a.Clone()).ToArray();
        RecountAll();
        var same = Bits(tree, Tree) && Bits(extra, Extra) && Bits(slots, SlotNodes);
        for (var k = 0; k < At.Length; k++) same &= Bits(levels[k], At[k]);
        return same;

        static bool Bits<T>(T[] a, T[] b) where T : struct =>
            MemoryMarshal.AsBytes(a.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(b.AsSpan()));
    }
}
