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
        if (LevelKeys.Length >= MaxLevels)
        {
            Stats.LevelsShared++;
            return best;
        }
        Stats.LevelsAdded++;
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

    /// <summary>
    /// The level maxima of a leaf (after its slot copies were refreshed); returns the levels that changed. Only the
    /// levels that a changed slot (<paramref name="changedSlots"/>, bit j: slot start + j; all bits: every level)
    /// reaches before (<paramref name="before"/>) or after are recounted: the others' nodes and values are the same.
    /// </summary>
    private uint LeafLevels(int t, int start, uint changedSlots, ReadOnlySpan<SlotFigures> before)
    {
        var changed = 0u;
        // One changed node (the usual case: one reservation or release between two searches) updates most levels in
        // O(1): its shares only rose, so the maxima are the old ones or its new values; or it was below every maximum.
        var single = changedSlots != uint.MaxValue && changedSlots != 0 && (changedSlots & (changedSlots - 1)) == 0;
        int j = single ? System.Numerics.BitOperations.TrailingZeroCount(changedSlots) : 0, i = single ? _order[start + j] : -1;
        double a0 = 0, b0 = 0, a1 = 0, b1 = 0;
        if (single)
        {
            (a0, b0) = (before[j].UseCpu * before[j].InvCpu, before[j].UseMem * before[j].InvMem);
            ref readonly var now = ref SlotNodes[start + j];
            (a1, b1) = (now.UseCpu * now.InvCpu, now.UseMem * now.InvMem);
        }
        for (var k = 0; k < LevelKeys.Length; k++)
        {
            ref readonly var key = ref LevelKeys[k];
            if (single)
            {
                bool was = key.Reached(in before[j], i), @is = key.Reached(in SlotNodes[start + j], i);
                if (!was && !@is) continue;
                var affinity = key.Affinity is { } scores ? scores[i] : 0;
                ref var current = ref At[k][t];
                if (@is && (!was || (a1 >= a0 && b1 >= b0)))
                {
                    var raised = current;
                    raised.Take(a1, b1, affinity);
                    if (!Same(in current, in raised)) changed |= 1u << k;
                    current = raised;
                    Stats.LevelsRaised++;
                    continue;
                }
                // Left the level or fell: nothing changes when its old values were below every maximum.
                if ((!@is || (a1 <= a0 && b1 <= b0)) && a0 < current.HiCpu && b0 < current.HiMem && a0 + b0 < current.Sum
                    && a0 + 3 * b0 < current.P && 3 * a0 + b0 < current.Q && (key.Affinity is null || affinity < current.Affinity))
                {
                    Stats.LevelsKept++;
                    continue;
                }
            }
            else if (changedSlots != uint.MaxValue && !Touches(in key, start, changedSlots, before))
            {
                continue;
            }
            var m = LeafLevel(t, in key);
            if (changedSlots != uint.MaxValue) Stats.LevelsRecounted++;
            ref var slot = ref At[k][t];
            if (!Same(in slot, in m)) changed |= 1u << k;
            slot = m;
        }
        return changed;
    }

    private bool Touches(in LevelKey key, int start, uint changedSlots, ReadOnlySpan<SlotFigures> before)
    {
        for (var rest = changedSlots; rest != 0; rest &= rest - 1)
        {
            var j = System.Numerics.BitOperations.TrailingZeroCount(rest);
            var i = _order[start + j];
            if (key.Reached(in before[j], i) || key.Reached(in SlotNodes[start + j], i)) return true;
        }
        return false;
    }

    /// <summary>Recomputes the maxima of tree node t from its children at the levels in <paramref name="levels"/>; returns those that changed.</summary>
    private uint CombineLevels(int t, uint levels)
    {
        var changed = 0u;
        for (var rest = levels; rest != 0; rest &= rest - 1)
        {
            var k = System.Numerics.BitOperations.TrailingZeroCount(rest);
            if (k < At.Length && Max(At[k], t)) changed |= 1u << k;
        }
        return changed;
    }

    private static bool Same(in LevelMax a, in LevelMax b) =>
        a.HiCpu == b.HiCpu && a.HiMem == b.HiMem && a.Sum == b.Sum && a.P == b.P && a.Q == b.Q && a.Affinity == b.Affinity;

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
        var changed = !Same(in slot, in m);
        slot = m;
        return changed;
    }
}
