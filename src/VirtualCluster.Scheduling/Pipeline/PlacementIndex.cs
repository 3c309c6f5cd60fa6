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
/// Leaves are ordered by capacity, then fill, then static attributes (state, drivers, labels), so the nodes of a
/// subtree look alike and its bounds are tight. Per spec, a request level (PlacementIndex.Levels) keeps the share
/// maxima of only the nodes that could take that request. A reservation or release marks its bucket; the next search
/// recounts it and its path (O(log n)); after 2n updates the order is rebuilt from the current fill (O(n log n),
/// amortized O(log n)). A search starts from the spec's last choice and bounds the siblings of its path.
/// </remarks>
internal sealed partial class PlacementIndex
{
    internal const int BucketSize = 8;
    private readonly ClusterState _s;
    private readonly int[] _group;
    private readonly int[] _order;
    private readonly int[] _position;
    private readonly int _leaves;
    // Per tree node, the figures the bound reads (see PlacementIndex.Figures), and those of disk and GPUs.
    internal readonly Figures[] Tree;
    internal readonly ExtraFigures[] Extra;
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
        // Work of the search, for the benchmark's split: tree nodes expanded, buckets reached, nodes bounded, candidates scored.
        public long Expanded, Buckets, NodesBounded, Scored;
        // Subtree bounds computed (two per expanded tree node; one per sibling of the warm node's path).
        public long Bounds;
        // Request levels added, and specs given an existing level below theirs (no room left); a leaf's level updated
        // in O(1) from its one changed node, left as it was (that node below every maximum), or recounted.
        public long LevelsAdded, LevelsShared, LevelsRaised, LevelsKept, LevelsRecounted;
        // Searches started from the spec's last choice; marked buckets recounted, and found unchanged at a flush.
        public long WarmStarts, BucketsRecounted, BucketsUnchanged;
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
        Tree = new Figures[size];
        SlotNodes = new SlotFigures[_order.Length];
        Extra = new ExtraFigures[size];
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
            // A reservation released again before this search left the bucket as its figures describe it.
            if (BucketUnchanged(leaf))
            {
                Stats.BucketsUnchanged++;
                continue;
            }
            Stats.BucketsRecounted++;
            var t = _leaves + leaf;
            var levels = Leaf(t, all: false);
            // A tree node whose figures did not change leaves its ancestors' as they are; a level whose maxima did
            // not change is not combined further up (each costs a cache line per tree node).
            for (t >>= 1; t >= 1 && Combine(t, ref levels); t >>= 1)
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
        RecountAll();
    }

    /// <summary>Every leaf and tree node from the state, every level included.</summary>
    private void RecountAll()
    {
        for (var t = _leaves; t < 2 * _leaves; t++) Leaf(t, all: true);
        for (var t = _leaves - 1; t >= 1; t--)
        {
            var all = uint.MaxValue;
            Combine(t, ref all);
        }
    }

    /// <summary>First slot of leaf bucket <paramref name="leaf"/> and how many slots it covers (a slot may hold -1: no node).</summary>
    public (int Start, int Count) Bucket(int leaf)
    {
        var start = leaf * BucketSize;
        return (start, Math.Clamp(_order.Length - start, 0, BucketSize));
    }

    public int NodeAt(int position) => _order[position];

    /// <summary>The slot of a node in the current layout.</summary>
    public int PositionOf(int node) => _position[node];

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

    /// <summary>True when two nodes would get the same score for any spec (up to their own replica counts).</summary>
    public bool Identical(int a, int b) => _group[a] == _group[b] && SameUse(a, b);

    /// <summary>Same capacity and effective use in every dimension (so the same allocation scores for any request).</summary>
    public bool SameUse(int a, int b) =>
        _s.UseCpu[a] == _s.UseCpu[b] && _s.UseMem[a] == _s.UseMem[b] && _s.UseDisk[a] == _s.UseDisk[b]
        && _s.AllocGpu[a] == _s.AllocGpu[b] && _s.CapCpu[a] == _s.CapCpu[b] && _s.CapMem[a] == _s.CapMem[b]
        && _s.CapDisk[a] == _s.CapDisk[b] && _s.CapGpu[a] == _s.CapGpu[b];
}
