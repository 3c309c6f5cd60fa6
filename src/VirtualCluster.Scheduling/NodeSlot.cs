namespace VirtualCluster.Scheduling;

/// <summary>
/// A scheduler's private working copy of one node: reservations and ports grow as instances of the same request
/// are placed, so later instances see earlier ones without the request being mutated.
/// </summary>
internal sealed class NodeSlot
{
    private readonly HashSet<int> usedPorts;

    public NodeSlot(NodeCandidate candidate)
    {
        Candidate = candidate;
        Allocated = candidate.Allocated;
        usedPorts = [.. candidate.UsedPorts];
        var range = candidate.Node.Ports;
        FreePorts = range.IsValid ? range.Count - usedPorts.Count(p => p >= range.First && p <= range.Last) : 0;
    }

    public NodeCandidate Candidate { get; }

    public NodeInfo Node => Candidate.Node;

    public string Name => Node.Name;

    public Resources Allocated { get; private set; }

    public Resources Free => Node.Capacity - Allocated;

    /// <summary>Ports of the node's range not handed out yet.</summary>
    public int FreePorts { get; private set; }

    public bool Fits(Resources request, int ports) => Free.Fits(request) && FreePorts >= ports;

    /// <summary>
    /// Best-fit score of placing <paramref name="request"/> here: 100 × the mean of the CPU and memory shares
    /// that would be allocated afterwards. Fuller nodes score higher, which keeps whole nodes free for big services.
    /// </summary>
    public double Score(Resources request)
    {
        var capacity = Node.Capacity;
        var cpu = Share(Allocated.CpuMillicores + request.CpuMillicores, capacity.CpuMillicores);
        var memory = Share(Allocated.MemoryBytes + request.MemoryBytes, capacity.MemoryBytes);
        return 100 * (cpu + memory) / 2;
    }

    /// <summary>Reserves <paramref name="request"/> and the lowest free ports, one per named port of the spec.</summary>
    public Dictionary<string, int> Take(Resources request, IReadOnlyList<PortSpec> ports)
    {
        Allocated += request;
        var assigned = new Dictionary<string, int>(StringComparer.Ordinal);
        var next = Node.Ports.First;
        foreach (var port in ports)
        {
            while (usedPorts.Contains(next)) next++;
            usedPorts.Add(next);
            assigned[port.Name] = next;
            FreePorts--;
        }
        return assigned;
    }

    // A dimension with no capacity can take nothing more, so it counts as full; clamping keeps odd inputs
    // (allocations above capacity) inside the documented 0..100 score range.
    private static double Share(long used, long capacity) =>
        capacity <= 0 ? 1 : Math.Clamp((double)used / capacity, 0, 1);
}
