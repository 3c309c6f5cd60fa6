namespace VirtualCluster.Scheduling;

/// <summary>
/// Feasibility-aware share maxima. A subtree's largest CPU share is often a node too full to take the request, so
/// a bound from it is loose for binpack (which wants the fullest node that still fits). Per tree node and request
/// level k: the largest CPU share, memory share, cpu + memory share and the two envelope lines (cpu + 3·memory,
/// 3·cpu + memory) among the nodes below that have at least <see cref="LevelKeys"/>[k] free in every dimension (CPU,
/// memory, disk, GPUs, host ports) and, for a spec's own level, pass its static filters, with their best node-affinity
/// score. A node that passes the resource and port filters for a request passes them for any level the request
/// dominates, so that level's maxima bound every such node.
/// </summary>
/// <remarks>
/// The levels are the specs themselves: the first search for a spec adds a level at exactly its request, its static
/// verdicts and its affinity scores (O(n)), or shares one with a spec asking the same, up to <see cref="MaxLevels"/>;
/// later specs use the largest level of amounts only that they dominate (level 0, which every node reaches, at worst). The previous grid (per dimension, doubling steps) kept
/// the nodes with free capacity just under the request inside the level (binpack's fullest, so the very ones that
/// set the bound), and a node short of memory inside the CPU level; the search then descended into subtrees whose
/// best node could not take the request. Each level costs a figure per tree node and one more in every path update.
/// </remarks>
internal sealed partial class PlacementIndex
{
    /// <summary>Most levels, level 0 included.</summary>
    internal const int MaxLevels = 32;

    /// <summary>
    /// What a node needs to reach one level: at least these free amounts, and (when given) passing a spec's static
    /// filters; <see cref="Affinity"/>, when given, is that spec's node-affinity score per node, whose maximum the
    /// level keeps. Level 0 (<see cref="All"/>) is reached by every node. Arrays compare by reference: they are a
    /// spec view's, kept for the state's lifetime.
    /// </summary>
    internal readonly record struct LevelKey(long Cpu, long Memory, long Disk, long Gpus, int Ports, bool[]? Static = null, double[]? Affinity = null)
    {
        public static LevelKey All => new(long.MinValue, long.MinValue, long.MinValue, long.MinValue, int.MinValue);

        public bool Reached(in SlotFigures n, int node) =>
            n.FreeCpu >= Cpu && n.FreeMem >= Memory && n.FreeDisk >= Disk && n.FreeGpus >= Gpus && n.FreePorts >= Ports
            && (Static is null || Static[node]);

        /// <summary>True when every node reaching <paramref name="other"/> reaches this level (a level of amounts only).</summary>
        public bool Below(in LevelKey other) =>
            Static is null && Affinity is null
            && Cpu <= other.Cpu && Memory <= other.Memory && Disk <= other.Disk && Gpus <= other.Gpus && Ports <= other.Ports;
    }

    /// <summary>
    /// At one level, among the nodes below that reach it: the largest current CPU share, memory share, cpu + memory
    /// share, cpu + 3·memory and 3·cpu + memory share (the two lines whose lower envelope is binpack's score).
    /// </summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    internal struct LevelMax
    {
        public double HiCpu, HiMem, Sum, P, Q;
        // The largest node-affinity score of the level's spec among the nodes that reach it (−∞ without one).
        public double Affinity;

        public static LevelMax None => new()
        {
            HiCpu = double.NegativeInfinity, HiMem = double.NegativeInfinity, Sum = double.NegativeInfinity,
            P = double.NegativeInfinity, Q = double.NegativeInfinity, Affinity = double.NegativeInfinity,
        };

        public void Take(double cpu, double memory, double affinity)
        {
            if (affinity > Affinity) Affinity = affinity;
            if (cpu > HiCpu) HiCpu = cpu;
            if (memory > HiMem) HiMem = memory;
            if (cpu + memory > Sum) Sum = cpu + memory;
            if (cpu + 3 * memory > P) P = cpu + 3 * memory;
            if (3 * cpu + memory > Q) Q = 3 * cpu + memory;
        }
    }

    /// <summary>Each level's least free amounts, in the order the levels were added (level 0 first).</summary>
    internal LevelKey[] LevelKeys = [];

    // [k][t]: per level a tree-shaped array, so a search (one level) reads a child pair from one or two cache lines.
    internal LevelMax[][] At = [];

    private void InitLevels(int size)
    {
        LevelKeys = [LevelKey.All];
        At = [new LevelMax[size]];
    }

    /// <summary>
    /// The level for a request: one at exactly its amounts, added now if there is room (its maxima computed from the
    /// current figures, O(n)), else the largest level it dominates. Call after a flush.
    /// </summary>
    internal int LevelFor(in LevelKey request)
    {
        var best = 0;
        for (var k = 0; k < LevelKeys.Length; k++)
        {
            ref readonly var key = ref LevelKeys[k];
            if (key.Cpu == request.Cpu && key.Memory == request.Memory && key.Disk == request.Disk && key.Gpus == request.Gpus
                && key.Ports == request.Ports && ReferenceEquals(key.Static, request.Static) && ReferenceEquals(key.Affinity, request.Affinity))
                return k;
            // Of the levels below the request, the one with the most CPU, then memory, asked (usually the tightest).
            if (key.Below(request) && (key.Cpu > LevelKeys[best].Cpu || (key.Cpu == LevelKeys[best].Cpu && key.Memory > LevelKeys[best].Memory)))
                best = k;
        }
        if (LevelKeys.Length >= MaxLevels) return best;
        var level = new LevelMax[Tree.Length];
        LevelKeys = [.. LevelKeys, request];
        At = [.. At, level];
        for (var t = _leaves; t < 2 * _leaves; t++) level[t] = LeafLevel(t, request);
        for (var t = _leaves - 1; t >= 1; t--) Max(level, t);
        return LevelKeys.Length - 1;
    }

    /// <summary>One level's maxima over a bucket, from its slot copies (current after <see cref="Leaf"/>).</summary>
    private LevelMax LeafLevel(int t, in LevelKey key)
    {
        var (start, count) = Bucket(t - _leaves);
        var m = LevelMax.None;
        for (var p = start; p < start + count; p++)
        {
            var i = _order[p];
            if (i < 0) continue;
            ref readonly var n = ref SlotNodes[p];
            if (key.Reached(in n, i)) m.Take(n.UseCpu * n.InvCpu, n.UseMem * n.InvMem, key.Affinity is { } affinity ? affinity[i] : 0);
        }
        return m;
    }

    /// <summary>Every level's maxima of a leaf (after its slot copies were refreshed).</summary>
    private void LeafLevels(int t)
    {
        for (var k = 0; k < LevelKeys.Length; k++) At[k][t] = LeafLevel(t, in LevelKeys[k]);
    }

    /// <summary>Recomputes the level maxima of tree node t from its children; false when none changed.</summary>
    private bool CombineLevels(int t)
    {
        var changed = false;
        foreach (var at in At) changed |= Max(at, t);
        return changed;
    }

    private static bool Max(LevelMax[] at, int t)
    {
        ref readonly var a = ref at[2 * t];
        ref readonly var b = ref at[2 * t + 1];
        var m = new LevelMax
        {
            HiCpu = Math.Max(a.HiCpu, b.HiCpu), HiMem = Math.Max(a.HiMem, b.HiMem), Sum = Math.Max(a.Sum, b.Sum),
            P = Math.Max(a.P, b.P), Q = Math.Max(a.Q, b.Q), Affinity = Math.Max(a.Affinity, b.Affinity),
        };
        ref var slot = ref at[t];
        var changed = slot.HiCpu != m.HiCpu || slot.HiMem != m.HiMem || slot.Sum != m.Sum || slot.P != m.P || slot.Q != m.Q
            || slot.Affinity != m.Affinity;
        slot = m;
        return changed;
    }
}
