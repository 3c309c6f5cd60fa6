namespace VirtualCluster.Scheduling;

/// <summary>
/// An index over a <see cref="ClusterState"/> that finds the node a full scan would choose without scoring every
/// node: a binary tree over buckets of nodes, each tree node holding per dimension the largest free amount and the
/// range of current shares and inverse capacities below it. A placement walks the tree depth first, best bound
/// first, skips a subtree when no node in it can pass the filters (too little free of some dimension, no node
/// passing the static filters, a topology domain over its skew) or when an upper bound on every scorer's weighted
/// score is below the best total found so far, and runs the pipeline's own filters and scorers on the buckets it
/// reaches. The bound is exact (never below a node's real total), so the chosen node is the full scan's.
/// </summary>
/// <remarks>
/// Leaves are ordered by static attributes (state, drivers, labels), then capacity, then fill, so the nodes of a
/// subtree look alike and its bounds are tight. Each reservation or release updates one leaf and its ancestors
/// (O(log n)); after 2n updates the order is rebuilt from the current fill (O(n log n), amortized O(log n)).
/// </remarks>
internal sealed partial class PlacementIndex
{
    internal const int BucketSize = 8;
    private readonly ClusterState _s;
    private readonly int[] _group;
    private readonly int[] _order;
    private readonly int[] _position;
    private readonly int _leaves;
    // Per dimension (cpu, memory, disk, gpus): largest free amount, current share range, inverse capacity range.
    internal readonly long[][] MaxFree = new long[4][];
    internal readonly double[][] Lo = new double[4][], Hi = new double[4][], LoInv = new double[4][], HiInv = new double[4][];
    internal readonly int[] MaxFreePorts;
    // Range of (cpu share + memory share) and (cpu share − memory share): tighter than the box of the two for the allocation scores.
    internal readonly double[] MinSum, MinDiff, MaxDiff;
    // Same[t]: every node below has the same group, capacity and use, so the same score (up to its own service
    // count); Rep[t]: the first of them in slot order, which is also the lowest index (equal keys sort by index).
    internal readonly bool[] Same;
    // UniformUse[t]: every node below has the same capacity and use (groups may differ); MinIndex[t]: the lowest node index below.
    internal readonly bool[] UniformUse;
    internal readonly int[] MinIndex;
    internal readonly int[] Rep;
    private int _updates;
    // Buckets changed since the last Flush (each once), and each node's fill key at the last layout.
    private readonly bool[] _dirtyLeaf;
    private int[] _dirty = new int[16];
    private int _dirtyCount;
    private readonly ulong[] _fillKey;

    /// <summary>How often each shortcut of the search was taken (tests check that they are, not only that results agree).</summary>
    internal sealed class Counters
    {
        public long Selections, TighterByLevel, DominatedRuns, ClassMembersSkipped, ReplicaPrunes;
    }

    internal readonly Counters Stats = new();

    /// <summary>Per-placement scratch of the search (a state serves one placement at a time).</summary>
    internal readonly BoundInputs Inputs = new();

    public PlacementIndex(ClusterState state)
    {
        _s = state;
        var n = state.Count;
        _group = GroupIds(state);
        _order = new int[Slots(Sorted())];
        _position = new int[n];
        var buckets = Math.Max(1, (_order.Length + BucketSize - 1) / BucketSize);
        _leaves = 1;
        while (_leaves < buckets) _leaves <<= 1;
        var size = 2 * _leaves;
        for (var d = 0; d < 4; d++)
        {
            MaxFree[d] = new long[size];
            Lo[d] = new double[size];
            Hi[d] = new double[size];
            LoInv[d] = new double[size];
            HiInv[d] = new double[size];
        }
        MaxFreePorts = new int[size];
        MinSum = new double[size];
        MinDiff = new double[size];
        MaxDiff = new double[size];
        Same = new bool[size];
        Rep = new int[size];
        UniformUse = new bool[size];
        MinIndex = new int[size];
        _dirtyLeaf = new bool[_leaves];
        _fillKey = new ulong[n];
        InitLevels(size);
        Rebuild();
    }

    /// <summary>Bumped whenever the leaf order changes; per-spec views built for an older layout are stale.</summary>
    public int Layout { get; private set; }

    public int LeafCount => _leaves;

    /// <summary>
    /// Call after any change of a node's reservations, measured use or free ports. Only marks the node's bucket:
    /// <see cref="Flush"/> recomputes the marked buckets and their paths before the next search, so a reservation
    /// and its release between two searches cost one bucket's recount (the path then stops at the unchanged leaf).
    /// </summary>
    public void Update(int node)
    {
        _updates++;
        var leaf = _position[node] / BucketSize;
        if (_dirtyLeaf[leaf]) return;
        _dirtyLeaf[leaf] = true;
        if (_dirtyCount == _dirty.Length) Array.Resize(ref _dirty, 2 * _dirty.Length);
        _dirty[_dirtyCount++] = leaf;
    }

    /// <summary>
    /// Brings the figures up to date with the state: recomputes each marked bucket and its ancestors (stopping at the
    /// first tree node that did not change), or, after 2n updates, lays the leaves out again from the current fill.
    /// </summary>
    public void Flush()
    {
        if (_updates > 2 * _s.Count && LayoutChanged())
        {
            Rebuild();
            return;
        }
        if (_updates > 2 * _s.Count) _updates = 0;
        for (var k = 0; k < _dirtyCount; k++)
        {
            var leaf = _dirty[k];
            _dirtyLeaf[leaf] = false;
            var t = _leaves + leaf;
            Leaf(t, layout: false);
            // A tree node whose figures did not change leaves its ancestors' as they are.
            for (t >>= 1; t >= 1 && Combine(t, layout: false); t >>= 1)
            {
            }
        }
        _dirtyCount = 0;
    }

    /// <summary>True when some node's fill key moved since the layout, so sorting again could give another order.</summary>
    private bool LayoutChanged()
    {
        for (var i = 0; i < _s.Count; i++)
            if (_fillKey[i] != Morton(Share(0, i), Share(1, i))) return true;
        return false;
    }

    private (int Group, long Cpu, long Memory, ulong Fill, int Node)[] Sorted()
    {
        var n = _s.Count;
        var keys = new (int Group, long Cpu, long Memory, ulong Fill, int Node)[n];
        for (var i = 0; i < n; i++)
            keys[i] = (_group[i], _s.CapCpu[i], _s.CapMem[i], Morton(Share(0, i), Share(1, i)), i);
        Array.Sort(keys, static (x, y) => x.Cpu != y.Cpu ? x.Cpu.CompareTo(y.Cpu) : x.Memory != y.Memory ? x.Memory.CompareTo(y.Memory) : x.Fill != y.Fill ? x.Fill.CompareTo(y.Fill) : x.Group != y.Group ? x.Group.CompareTo(y.Group) : x.Node.CompareTo(y.Node));
        return keys;
    }

    /// <summary>
    /// Lays the sorted nodes out in slots: a run of nodes with the same static attributes and capacity that fills a
    /// bucket starts on a bucket boundary (padding slots hold -1), so no bucket mixes the fullest nodes of one run
    /// with the emptiest of the next. Returns the number of slots; fills the order when <paramref name="write"/>.
    /// </summary>
    private int Slots((int Group, long Cpu, long Memory, ulong Fill, int Node)[] keys, bool write = false)
    {
        var slot = 0;
        for (var k = 0; k < keys.Length;)
        {
            var end = k + 1;
            while (end < keys.Length && keys[end].Cpu == keys[k].Cpu && keys[end].Memory == keys[k].Memory) end++;
            if (end - k >= BucketSize && slot % BucketSize != 0)
            {
                var aligned = (slot + BucketSize - 1) / BucketSize * BucketSize;
                if (write) for (var p = slot; p < aligned; p++) _order[p] = -1;
                slot = aligned;
            }
            for (; k < end; k++, slot++)
            {
                if (!write) continue;
                _order[slot] = keys[k].Node;
                _position[keys[k].Node] = slot;
            }
        }
        return slot;
    }

    private void Rebuild()
    {
        _updates = 0;
        for (var k = 0; k < _dirtyCount; k++) _dirtyLeaf[_dirty[k]] = false;
        _dirtyCount = 0;
        Layout++;
        var keys = Sorted();
        foreach (var key in keys) _fillKey[key.Node] = key.Fill;
        Slots(keys, write: true);
        for (var t = _leaves; t < 2 * _leaves; t++) Leaf(t, layout: true);
        for (var t = _leaves - 1; t >= 1; t--) Combine(t, layout: true);
    }

    /// <summary>First slot of leaf bucket <paramref name="leaf"/> and how many slots it covers (a slot may hold -1: no node).</summary>
    public (int Start, int Count) Bucket(int leaf)
    {
        var start = leaf * BucketSize;
        return (start, Math.Clamp(_order.Length - start, 0, BucketSize));
    }

    public int NodeAt(int position) => _order[position];

    /// <summary>
    /// Z-order of the CPU and memory shares (16 bits each, interleaved): nodes close on the curve are close in both
    /// dimensions, so a bucket's share ranges and free maxima stay tight.
    /// </summary>
    private static ulong Morton(double cpu, double memory)
    {
        static ulong Spread(double share)
        {
            ulong v = (ulong)Math.Clamp(share * 65535, 0, 65535);
            v = (v | (v << 8)) & 0x00FF00FF;
            v = (v | (v << 4)) & 0x0F0F0F0F;
            v = (v | (v << 2)) & 0x33333333;
            return (v | (v << 1)) & 0x55555555;
        }
        return (Spread(cpu) << 1) | Spread(memory);
    }

    private double Share(int d, int i) => d switch
    {
        0 => _s.UseCpu[i] * _s.InvCpu[i],
        1 => _s.UseMem[i] * _s.InvMem[i],
        2 => _s.UseDisk[i] * _s.InvDisk[i],
        _ => _s.AllocGpu[i] * _s.InvGpu[i],
    };

    /// <summary>Recomputes a leaf; the inverse-capacity ranges only when <paramref name="layout"/> (capacities change only with the layout).</summary>
    private void Leaf(int t, bool layout)
    {
        var (start, count) = Bucket(t - _leaves);
        var ports = int.MinValue;
        double minSum = double.PositiveInfinity, minDiff = double.PositiveInfinity, maxDiff = double.NegativeInfinity;
        for (var d = 0; d < 4; d++)
        {
            MaxFree[d][t] = long.MinValue;
            Lo[d][t] = double.PositiveInfinity;
            Hi[d][t] = double.NegativeInfinity;
            if (!layout) continue;
            LoInv[d][t] = double.PositiveInfinity;
            HiInv[d][t] = double.NegativeInfinity;
        }
        for (var p = start; p < start + count; p++)
        {
            var i = _order[p];
            if (i < 0) continue;
            var cpu = _s.UseCpu[i] * _s.InvCpu[i];
            var memory = _s.UseMem[i] * _s.InvMem[i];
            Add(0, t, _s.CapCpu[i] - _s.UseCpu[i], cpu);
            Add(1, t, _s.CapMem[i] - _s.UseMem[i], memory);
            Add(2, t, _s.CapDisk[i] - _s.UseDisk[i], _s.UseDisk[i] * _s.InvDisk[i]);
            Add(3, t, (long)_s.CapGpu[i] - _s.AllocGpu[i], _s.AllocGpu[i] * _s.InvGpu[i]);
            if (layout)
            {
                AddInverse(0, t, _s.InvCpu[i]);
                AddInverse(1, t, _s.InvMem[i]);
                AddInverse(2, t, _s.InvDisk[i]);
                AddInverse(3, t, _s.InvGpu[i]);
            }
            ports = Math.Max(ports, _s.FreePorts[i]);
            minSum = Math.Min(minSum, cpu + memory);
            minDiff = Math.Min(minDiff, cpu - memory);
            maxDiff = Math.Max(maxDiff, cpu - memory);
        }
        MaxFreePorts[t] = ports;
        (MinSum[t], MinDiff[t], MaxDiff[t]) = (minSum, minDiff, maxDiff);
        var rep = -1;
        bool same = true, sameUse = true;
        var min = int.MaxValue;
        for (var p = start; p < start + count; p++)
        {
            var i = _order[p];
            if (i < 0) continue;
            min = Math.Min(min, i);
            if (rep < 0) rep = i;
            else
            {
                same &= Identical(rep, i);
                sameUse &= SameUse(rep, i);
            }
        }
        Rep[t] = rep;
        Same[t] = same;
        UniformUse[t] = sameUse;
        MinIndex[t] = min;
        LeafLevels(t, start, count);
    }

    /// <summary>True when two nodes would get the same score for any spec (up to their own replica counts).</summary>
    public bool Identical(int a, int b) => _group[a] == _group[b] && SameUse(a, b);

    /// <summary>Same capacity and effective use in every dimension (so the same allocation scores for any request).</summary>
    public bool SameUse(int a, int b) =>
        _s.UseCpu[a] == _s.UseCpu[b] && _s.UseMem[a] == _s.UseMem[b] && _s.UseDisk[a] == _s.UseDisk[b]
        && _s.AllocGpu[a] == _s.AllocGpu[b] && _s.CapCpu[a] == _s.CapCpu[b] && _s.CapMem[a] == _s.CapMem[b]
        && _s.CapDisk[a] == _s.CapDisk[b] && _s.CapGpu[a] == _s.CapGpu[b];

    private void Add(int d, int t, long free, double share)
    {
        if (free > MaxFree[d][t]) MaxFree[d][t] = free;
        if (share < Lo[d][t]) Lo[d][t] = share;
        if (share > Hi[d][t]) Hi[d][t] = share;
    }

    private void AddInverse(int d, int t, double inv)
    {
        if (inv < LoInv[d][t]) LoInv[d][t] = inv;
        if (inv > HiInv[d][t]) HiInv[d][t] = inv;
    }

    /// <summary>Recomputes tree node t from its children; false when nothing changed (so its ancestors stay valid).</summary>
    private bool Combine(int t, bool layout)
    {
        int l = 2 * t, r = l + 1;
        var changed = false;
        for (var d = 0; d < 4; d++)
        {
            changed |= Set(ref MaxFree[d][t], Math.Max(MaxFree[d][l], MaxFree[d][r]));
            changed |= Set(ref Lo[d][t], Math.Min(Lo[d][l], Lo[d][r]));
            changed |= Set(ref Hi[d][t], Math.Max(Hi[d][l], Hi[d][r]));
            if (!layout) continue;
            LoInv[d][t] = Math.Min(LoInv[d][l], LoInv[d][r]);
            HiInv[d][t] = Math.Max(HiInv[d][l], HiInv[d][r]);
        }
        changed |= Set(ref MaxFreePorts[t], Math.Max(MaxFreePorts[l], MaxFreePorts[r]));
        changed |= Set(ref MinSum[t], Math.Min(MinSum[l], MinSum[r]));
        changed |= Set(ref MinDiff[t], Math.Min(MinDiff[l], MinDiff[r]));
        changed |= Set(ref MaxDiff[t], Math.Max(MaxDiff[l], MaxDiff[r]));
        int a = Rep[l], b = Rep[r];
        Rep[t] = a >= 0 ? a : b;
        changed |= Set(ref Same[t], Same[l] && Same[r] && (a < 0 || b < 0 || Identical(a, b)));
        changed |= Set(ref UniformUse[t], UniformUse[l] && UniformUse[r] && (a < 0 || b < 0 || SameUse(a, b)));
        MinIndex[t] = Math.Min(MinIndex[l], MinIndex[r]);
        return CombineLevels(t) | changed;
    }
}
