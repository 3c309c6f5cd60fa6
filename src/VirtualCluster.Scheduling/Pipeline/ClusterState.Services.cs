namespace VirtualCluster.Scheduling;

public sealed partial class ClusterState
{
    private static readonly int[] NoCounts = [];

    /// <summary>
    /// One service's instances: per node (empty until its first reservation), in total, and per domain of each label
    /// key asked for (kept current on every reservation once asked for).
    /// </summary>
    private sealed class ServiceEntry
    {
        public int[] Counts = NoCounts;
        public int Total;
        public (string Key, LabelDomains Domains, int[] PerDomain)[] ByDomain = [];
    }

    private readonly Dictionary<string, ServiceEntry> _services = new(StringComparer.Ordinal);
    // The last service looked up, by reference: one placement asks for its spec's service a dozen times (filters,
    // scorers, bounds, reservation), each a string hash and a dictionary probe otherwise.
    private string? _lastService;
    private ServiceEntry? _lastEntry;
    // Label key -> per-node domain index (-1 when the node lacks the label) and the domain values.
    private readonly Dictionary<string, LabelDomains> _domains = new(StringComparer.Ordinal);

    private ServiceEntry? Find(string service)
    {
        if (ReferenceEquals(service, _lastService)) return _lastEntry;
        if (!_services.TryGetValue(service, out var entry)) return null;
        (_lastService, _lastEntry) = (service, entry);
        return entry;
    }

    private ServiceEntry Entry(string service)
    {
        if (Find(service) is { } entry) return entry;
        _services[service] = entry = new ServiceEntry();
        (_lastService, _lastEntry) = (service, entry);
        return entry;
    }

    // Per (pipeline, spec): nodes passing the static filters. Static filters never depend on reservations.
    internal readonly Dictionary<(object Pipeline, ServiceSpec Spec), StaticEntry> StaticCache = new(StaticKeyComparer.Instance);

    // Per (pipeline, static shape of a spec): the static filters' result, shared by every spec of that shape.
    internal readonly Dictionary<(object Pipeline, string Shape), StaticResult> StaticShapes = [];

    // Scratch buffers reused by every placement on this state (one placement at a time).
    private int[]? _scratchNodes;
    private double[]? _scratchTotals;

    internal int[] ScratchNodes => _scratchNodes ??= new int[Count];

    internal double[] ScratchTotals => _scratchTotals ??= new double[Count];

    /// <summary>Nodes grouped by the value of one label.</summary>
    /// <param name="NodeDomain">Domain index per node, -1 when the node lacks the label.</param>
    /// <param name="Values">Label value of each domain.</param>
    internal sealed record LabelDomains(int[] NodeDomain, string[] Values);

    private void InitServices(NodeCandidate[] candidates)
    {
        for (var i = 0; i < candidates.Length; i++)
            foreach (var service in candidates[i].Services)
                if (service is not null) AddService(i, service, +1);
    }

    /// <summary>Instances of <paramref name="service"/> on the node at <paramref name="index"/>.</summary>
    public int ServiceCount(int index, string service) =>
        Find(service) is { Counts: { Length: > 0 } counts } ? counts[index] : 0;

    /// <summary>Instances of <paramref name="service"/> in the whole cluster.</summary>
    public int ServiceTotal(string service) => Find(service)?.Total ?? 0;

    /// <summary>Instances of the service per node (indexed like the nodes); empty when it has none.</summary>
    internal int[] ServiceCounts(string service) => Find(service)?.Counts ?? NoCounts;

    internal LabelDomains Domains(string key)
    {
        if (_domains.TryGetValue(key, out var domains)) return domains;
        var byValue = new Dictionary<string, int>(StringComparer.Ordinal);
        var nodeDomain = new int[Count];
        for (var i = 0; i < Count; i++)
        {
            if (!Candidates[i].Node.Labels.TryGetValue(key, out var value) || value is null)
            {
                nodeDomain[i] = -1;
                continue;
            }
            if (!byValue.TryGetValue(value, out var d)) byValue[value] = d = byValue.Count;
            nodeDomain[i] = d;
        }
        var values = new string[byValue.Count];
        foreach (var (value, d) in byValue) values[d] = value;
        return _domains[key] = new LabelDomains(nodeDomain, values);
    }

    /// <summary>Instances of <paramref name="service"/> per domain of label <paramref name="key"/>.</summary>
    internal int[] DomainCounts(string key, string service)
    {
        var entry = Entry(service);
        foreach (var (k, _, perDomain) in entry.ByDomain)
            if (string.Equals(k, key, StringComparison.Ordinal)) return perDomain;
        var domains = Domains(key);
        var counts = new int[domains.Values.Length];
        var perNode = entry.Counts;
        for (var i = 0; i < perNode.Length; i++)
            if (perNode[i] != 0 && domains.NodeDomain[i] >= 0) counts[domains.NodeDomain[i]] += perNode[i];
        entry.ByDomain = [.. entry.ByDomain, (key, domains, counts)];
        return counts;
    }

    private void AddService(int index, string service, int delta)
    {
        var entry = delta < 0 ? Find(service) : Entry(service);
        if (entry is null) return;
        if (entry.Counts.Length == 0)
        {
            if (delta < 0) return;
            entry.Counts = new int[Count];
        }
        var counts = entry.Counts;
        var before = counts[index];
        counts[index] = Math.Max(0, before + delta);
        _index?.ServiceChanged(service, index, before, counts[index]);
        entry.Total = Math.Max(0, entry.Total + delta);
        foreach (var (_, domains, perDomain) in entry.ByDomain)
        {
            var d = domains.NodeDomain[index];
            if (d >= 0) perDomain[d] = Math.Max(0, perDomain[d] + delta);
        }
    }
}
