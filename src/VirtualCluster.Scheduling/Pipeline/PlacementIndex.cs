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
    private int _updates;

    /// <summary>Per-placement scratch of the search (a state serves one placement at a time).</summary>
    internal readonly BoundInputs Inputs = new();

    public PlacementIndex(ClusterState state)
    {
        _s = state;
        var n = state.Count;
        _group = GroupIds(state);
        _order = new int[n];
        _position = new int[n];
        var buckets = Math.Max(1, (n + BucketSize - 1) / BucketSize);
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
        Rebuild();
    }

    /// <summary>Bumped whenever the leaf order changes; per-spec views built for an older layout are stale.</summary>
    public int Layout { get; private set; }

    public int LeafCount => _leaves;

    /// <summary>Call after any change of a node's reservations, measured use or free ports.</summary>
    public void Update(int node)
    {
        if (++_updates > 2 * _s.Count)
        {
            Rebuild();
            return;
        }
        var t = _leaves + _position[node] / BucketSize;
        Leaf(t);
        for (t >>= 1; t >= 1; t >>= 1) Combine(t);
    }

    private void Rebuild()
    {
        _updates = 0;
        Layout++;
        var n = _s.Count;
        var keys = new (int Group, long Cpu, long Memory, double Fill, int Node)[n];
        for (var i = 0; i < n; i++)
            keys[i] = (_group[i], _s.CapCpu[i], _s.CapMem[i], Share(0, i) + Share(1, i), i);
        Array.Sort(keys);
        for (var p = 0; p < n; p++)
        {
            _order[p] = keys[p].Node;
            _position[keys[p].Node] = p;
        }
        for (var t = _leaves; t < 2 * _leaves; t++) Leaf(t);
        for (var t = _leaves - 1; t >= 1; t--) Combine(t);
    }

    /// <summary>First position of leaf bucket <paramref name="leaf"/> and how many nodes it holds.</summary>
    public (int Start, int Count) Bucket(int leaf)
    {
        var start = leaf * BucketSize;
        return (start, Math.Clamp(_s.Count - start, 0, BucketSize));
    }

    public int NodeAt(int position) => _order[position];

    private double Share(int d, int i) => d switch
    {
        0 => _s.UseCpu[i] * _s.InvCpu[i],
        1 => _s.UseMem[i] * _s.InvMem[i],
        2 => _s.UseDisk[i] * _s.InvDisk[i],
        _ => _s.AllocGpu[i] * _s.InvGpu[i],
    };

    private long Free(int d, int i) => d switch
    {
        0 => _s.CapCpu[i] - _s.UseCpu[i],
        1 => _s.CapMem[i] - _s.UseMem[i],
        2 => _s.CapDisk[i] - _s.UseDisk[i],
        _ => (long)_s.CapGpu[i] - _s.AllocGpu[i],
    };

    private double Inv(int d, int i) => d switch
    {
        0 => _s.InvCpu[i],
        1 => _s.InvMem[i],
        2 => _s.InvDisk[i],
        _ => _s.InvGpu[i],
    };

    private void Leaf(int t)
    {
        var (start, count) = Bucket(t - _leaves);
        var ports = int.MinValue;
        for (var d = 0; d < 4; d++)
        {
            long free = long.MinValue;
            double lo = double.PositiveInfinity, hi = double.NegativeInfinity, loInv = double.PositiveInfinity, hiInv = double.NegativeInfinity;
            for (var p = start; p < start + count; p++)
            {
                var i = _order[p];
                free = Math.Max(free, Free(d, i));
                var share = Share(d, i);
                lo = Math.Min(lo, share);
                hi = Math.Max(hi, share);
                var inv = Inv(d, i);
                loInv = Math.Min(loInv, inv);
                hiInv = Math.Max(hiInv, inv);
            }
            MaxFree[d][t] = free;
            Lo[d][t] = lo;
            Hi[d][t] = hi;
            LoInv[d][t] = loInv;
            HiInv[d][t] = hiInv;
        }
        for (var p = start; p < start + count; p++) ports = Math.Max(ports, _s.FreePorts[_order[p]]);
        MaxFreePorts[t] = ports;
    }

    private void Combine(int t)
    {
        int l = 2 * t, r = l + 1;
        for (var d = 0; d < 4; d++)
        {
            MaxFree[d][t] = Math.Max(MaxFree[d][l], MaxFree[d][r]);
            Lo[d][t] = Math.Min(Lo[d][l], Lo[d][r]);
            Hi[d][t] = Math.Max(Hi[d][l], Hi[d][r]);
            LoInv[d][t] = Math.Min(LoInv[d][l], LoInv[d][r]);
            HiInv[d][t] = Math.Max(HiInv[d][l], HiInv[d][r]);
        }
        MaxFreePorts[t] = Math.Max(MaxFreePorts[l], MaxFreePorts[r]);
    }

    /// <summary>Nodes with the same state, drivers and labels share a group id (so static verdicts are equal).</summary>
    private static int[] GroupIds(ClusterState state)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var groups = new int[state.Count];
        var text = new System.Text.StringBuilder();
        for (var i = 0; i < state.Count; i++)
        {
            var node = state.Node(i);
            text.Clear().Append((int)node.State).Append('|');
            foreach (var driver in node.Drivers.Order(StringComparer.Ordinal)) text.Append(driver).Append(',');
            text.Append('|');
            foreach (var (key, value) in node.Labels.OrderBy(l => l.Key, StringComparer.Ordinal)) text.Append(key).Append('=').Append(value).Append(';');
            var signature = text.ToString();
            if (!ids.TryGetValue(signature, out var id)) ids[signature] = id = ids.Count;
            groups[i] = id;
        }
        return groups;
    }
}
