namespace VirtualCluster.Scheduling;

/// <summary>
/// The scheduler's mutable working copy of a cluster, laid out as one array per dimension so filters and scorers
/// run tight loops over all nodes. Build it once (<see cref="From"/>), then place, reserve and release against it;
/// a control plane rebuilds it per request, a simulator or benchmark keeps one across many placements.
/// </summary>
/// <remarks>
/// Nodes are ordered by name, then id, so node index order (and every tie-break) is independent of input order.
/// <para>
/// Effective use: a node's use of memory and disk is the larger of what instances reserve and what the node
/// reports as used (<see cref="NodeInfo.Usage"/>), so memory taken outside the orchestrator counts:
/// free = capacity − max(allocated, used). CPU counts only reservations unless
/// <see cref="SchedulerOptions.CountCpuUsage"/> is set, because CPU is compressible (a busy node slows down, it does
/// not kill processes) and a momentary spike should not block placement. GPUs count reservations only.
/// A measurement cannot include instances reserved on this state after it was built, so each reservation adds to
/// the measured figure as well as to the allocation (and a release takes it off both).
/// </para>
/// Not thread-safe: one state belongs to one placement loop.
/// </remarks>
public sealed partial class ClusterState
{
    internal readonly NodeCandidate[] Candidates;
    internal readonly long[] CapCpu, CapMem, CapDisk;
    internal readonly int[] CapGpu;
    internal readonly long[] AllocCpu, AllocMem, AllocDisk;
    internal readonly int[] AllocGpu;
    // Effective use per dimension: max(allocated, measured) where measured counts (see remarks).
    internal readonly long[] UseCpu, UseMem, UseDisk;
    internal readonly long[] MeasuredCpu, MeasuredMem, MeasuredDisk;
    internal readonly double[] InvCpu, InvMem, InvDisk, InvGpu;
    internal readonly int[] FreePorts;
    internal readonly bool[] Alive;
    private readonly HashSet<int>?[] _portSets;
    private Dictionary<string, int>? _byId;
    private readonly PlacementIndexMode _indexMode;

    // Sampled placements (SchedulerOptions.PercentageOfNodesToScore): the share, its floor, and where the next starts.
    internal readonly int SamplePercentage;
    internal readonly int SampleMinimum;
    internal int SampleStart;
    private PlacementIndex? _index;
    private int _selections;

    private ClusterState(NodeCandidate[] candidates, SchedulerOptions options)
    {
        Candidates = candidates;
        var n = candidates.Length;
        CapCpu = new long[n]; CapMem = new long[n]; CapDisk = new long[n]; CapGpu = new int[n];
        AllocCpu = new long[n]; AllocMem = new long[n]; AllocDisk = new long[n]; AllocGpu = new int[n];
        UseCpu = new long[n]; UseMem = new long[n]; UseDisk = new long[n];
        MeasuredCpu = new long[n]; MeasuredMem = new long[n]; MeasuredDisk = new long[n];
        InvCpu = new double[n]; InvMem = new double[n]; InvDisk = new double[n]; InvGpu = new double[n];
        FreePorts = new int[n];
        Alive = new bool[n];
        _indexMode = options.PlacementIndex;
        SamplePercentage = options.PercentageOfNodesToScore;
        SampleMinimum = options.MinNodesToScore;
        _portSets = new HashSet<int>?[n];
        for (var i = 0; i < n; i++)
        {
            var c = candidates[i];
            var cap = c.Node.Capacity;
            CapCpu[i] = Math.Max(0, cap.CpuMillicores);
            CapMem[i] = Math.Max(0, cap.MemoryBytes);
            CapDisk[i] = Math.Max(0, cap.DiskBytes);
            CapGpu[i] = Math.Max(0, cap.Gpus);
            InvCpu[i] = Inverse(CapCpu[i]);
            InvMem[i] = Inverse(CapMem[i]);
            InvDisk[i] = Inverse(CapDisk[i]);
            InvGpu[i] = Inverse(CapGpu[i]);
            AllocCpu[i] = c.Allocated.CpuMillicores;
            AllocMem[i] = c.Allocated.MemoryBytes;
            AllocDisk[i] = c.Allocated.DiskBytes;
            AllocGpu[i] = c.Allocated.Gpus;
            var usage = options.UseMeasuredUsage ? c.Node.Usage : default;
            MeasuredCpu[i] = options.CountCpuUsage ? Math.Max(0, usage.CpuMillicores) : 0;
            MeasuredMem[i] = Math.Max(0, usage.MemoryBytes);
            MeasuredDisk[i] = Math.Max(0, usage.DiskBytes);
            Refresh(i);
            var range = c.Node.Ports;
            var used = 0;
            if (range.IsValid)
                foreach (var port in c.UsedPorts)
                    if (port >= range.First && port <= range.Last) used++;
            FreePorts[i] = range.IsValid ? range.Count - used : 0;
            Alive[i] = c.Node.State == NodeState.Alive;
        }
        InitServices(candidates);
    }

    /// <summary>Number of nodes.</summary>
    public int Count => Candidates.Length;

    /// <summary>Bumped whenever a reservation changes; caches keyed on it know when to recompute.</summary>
    public long Version { get; private set; }

    /// <summary>Builds a state from the scheduler's view of the nodes. Node ids must be unique.</summary>
    /// <exception cref="ArgumentException">Two candidates share an id, or one is null.</exception>
    public static ClusterState From(IReadOnlyList<NodeCandidate> nodes, SchedulerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        var sorted = new NodeCandidate[nodes.Count];
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < sorted.Length; i++)
        {
            var node = nodes[i] ?? throw new ArgumentException($"node candidate {i} is null", nameof(nodes));
            if (!ids.Add(node.Node.Id)) throw new ArgumentException($"node id \"{node.Node.Id}\" appears twice; ids must be unique", nameof(nodes));
            sorted[i] = node;
        }
        Array.Sort(sorted, static (a, b) =>
        {
            var byName = string.CompareOrdinal(a.Node.Name, b.Node.Name);
            return byName != 0 ? byName : string.CompareOrdinal(a.Node.Id, b.Node.Id);
        });
        return new ClusterState(sorted, options ?? SchedulerOptions.Default);
    }

    /// <summary>The node at <paramref name="index"/> as registered.</summary>
    public NodeInfo Node(int index) => Candidates[index].Node;

    /// <summary>Index of the node with this id, or -1.</summary>
    public int IndexOf(string nodeId)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        if (_byId is null)
        {
            _byId = new Dictionary<string, int>(Candidates.Length, StringComparer.Ordinal);
            for (var i = 0; i < Candidates.Length; i++) _byId[Candidates[i].Node.Id] = i;
        }
        return _byId.TryGetValue(nodeId, out var index) ? index : -1;
    }

    /// <summary>Capacity of a node (negative figures read as 0).</summary>
    public Resources Capacity(int index) => new(CapCpu[index], CapMem[index], CapDisk[index], CapGpu[index]);

    /// <summary>Reservations on a node, including those made on this state.</summary>
    public Resources Allocated(int index) => new(AllocCpu[index], AllocMem[index], AllocDisk[index], AllocGpu[index]);

    /// <summary>Effective use: per dimension the larger of reservations and counted measurements.</summary>
    public Resources Used(int index) => new(UseCpu[index], UseMem[index], UseDisk[index], AllocGpu[index]);

    /// <summary>Capacity minus effective use; may be negative on an overcommitted node.</summary>
    public Resources Free(int index) => Capacity(index) - Used(index);

    /// <summary>Host ports of the node's range not handed out yet.</summary>
    public int FreePortCount(int index) => FreePorts[index];

    /// <summary>True when the node may take new work (its state is <see cref="NodeState.Alive"/>).</summary>
    public bool IsAlive(int index) => Alive[index];

    /// <summary>
    /// Changes a node's liveness in place (a node gone down or back), instead of building the state again: the
    /// static filters' cached results are dropped, so the next placement of each spec filters afresh.
    /// </summary>
    public void SetNodeState(int index, NodeState state)
    {
        var candidate = Candidates[index];
        if (candidate.Node.State == state) return;
        Candidates[index] = candidate with { Node = candidate.Node with { State = state } };
        Alive[index] = state == NodeState.Alive;
        StaticCache.Clear();
        StaticShapes.Clear();
        Version++;
    }

    /// <summary>True when <paramref name="demand"/> and <paramref name="ports"/> ports fit on the node now.</summary>
    public bool Fits(int index, Resources demand, int ports) =>
        UseCpu[index] + demand.CpuMillicores <= CapCpu[index]
        && UseMem[index] + demand.MemoryBytes <= CapMem[index]
        && UseDisk[index] + demand.DiskBytes <= CapDisk[index]
        && AllocGpu[index] + demand.Gpus <= CapGpu[index]
        && FreePorts[index] >= ports;

    /// <summary>
    /// Reserves one instance of <paramref name="spec"/> on a node and hands out its host ports (lowest free first).
    /// The caller checks feasibility; this only books.
    /// </summary>
    public Dictionary<string, int> Reserve(int index, ServiceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Book(index, spec.Resources, +1);
        AddService(index, spec.Name, +1);
        var assigned = new Dictionary<string, int>(spec.Ports.Count, StringComparer.Ordinal);
        if (spec.Ports.Count == 0)
        {
            _index?.Update(index);
            return assigned;
        }
        var used = PortSet(index);
        var next = Candidates[index].Node.Ports.First;
        foreach (var port in spec.Ports)
        {
            while (used.Contains(next)) next++;
            used.Add(next);
            assigned[port.Name] = next;
            FreePorts[index]--;
        }
        _index?.Update(index);
        return assigned;
    }

    /// <summary>Reserves resources and the service slot without handing out ports (batch planning, simulation).</summary>
    public void ReserveResources(int index, ServiceSpec spec, int ports = 0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Book(index, spec.Resources, +1);
        AddService(index, spec.Name, +1);
        FreePorts[index] -= ports;
        _index?.Update(index);
    }

    /// <summary>Gives back one instance's resources (and <paramref name="ports"/>, if given) on a node.</summary>
    public void Release(int index, ServiceSpec spec, IEnumerable<int>? ports = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Book(index, spec.Resources, -1);
        AddService(index, spec.Name, -1);
        if (ports is not null)
        {
            var set = PortSet(index);
            foreach (var port in ports)
                if (set.Remove(port)) FreePorts[index]++;
        }
        _index?.Update(index);
    }

    /// <summary>Gives back resources reserved with <see cref="ReserveResources"/>.</summary>
    public void ReleaseResources(int index, ServiceSpec spec, int ports = 0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Book(index, spec.Resources, -1);
        AddService(index, spec.Name, -1);
        FreePorts[index] += ports;
        _index?.Update(index);
    }

    private void Book(int i, Resources r, int sign)
    {
        AllocCpu[i] += sign * r.CpuMillicores;
        AllocMem[i] += sign * r.MemoryBytes;
        AllocDisk[i] += sign * r.DiskBytes;
        AllocGpu[i] += sign * r.Gpus;
        // The last measurement cannot include instances placed since: they add to it as well as to reservations.
        if (MeasuredCpu[i] > 0) MeasuredCpu[i] = Math.Max(0, MeasuredCpu[i] + sign * r.CpuMillicores);
        if (MeasuredMem[i] > 0) MeasuredMem[i] = Math.Max(0, MeasuredMem[i] + sign * r.MemoryBytes);
        if (MeasuredDisk[i] > 0) MeasuredDisk[i] = Math.Max(0, MeasuredDisk[i] + sign * r.DiskBytes);
        Refresh(i);
        Version++;
    }

    private void Refresh(int i)
    {
        UseCpu[i] = Math.Max(AllocCpu[i], MeasuredCpu[i]);
        UseMem[i] = Math.Max(AllocMem[i], MeasuredMem[i]);
        UseDisk[i] = Math.Max(AllocDisk[i], MeasuredDisk[i]);
    }

    /// <summary>
    /// The placement index, built once the state has served enough selections to pay for it (see
    /// <see cref="SchedulerOptions.PlacementIndex"/>) and brought up to date with every reservation made since the
    /// last call; null while placements scan every node.
    /// </summary>
    internal PlacementIndex? IndexForSelection()
    {
        if (_index is not null)
        {
            _index.Flush();
            return _index;
        }
        if (_indexMode == PlacementIndexMode.Off) return null;
        if (_indexMode == PlacementIndexMode.Auto && (Count < AutoIndexMinNodes || ++_selections < AutoIndexAfterSelections)) return null;
        return _index = new PlacementIndex(this);
    }

    /// <summary>Nodes below which <see cref="PlacementIndexMode.Auto"/> keeps scanning (a scan of a few hundred nodes is cheaper).</summary>
    internal const int AutoIndexMinNodes = 2048;

    /// <summary>Selections on a state before <see cref="PlacementIndexMode.Auto"/> builds its index (O(n log n)).</summary>
    internal const int AutoIndexAfterSelections = 16;

    private HashSet<int> PortSet(int index) => _portSets[index] ??= [.. Candidates[index].UsedPorts];

    // A dimension with no capacity can take nothing; its inverse is 0 and scorers treat it as full.
    private static double Inverse(long capacity) => capacity > 0 ? 1.0 / capacity : 0;
}
