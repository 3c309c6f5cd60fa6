namespace VirtualCluster.Scheduling;

public sealed partial class ClusterState
{
    private static readonly int[] NoCounts = [];

    // Instances per service per node, and per service in total.
    private readonly Dictionary<string, int[]> _serviceCounts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _serviceTotals = new(StringComparer.Ordinal);
    // Label key -> per-node domain index (-1 when the node lacks the label) and the domain values.
    private readonly Dictionary<string, LabelDomains> _domains = new(StringComparer.Ordinal);
    // (label key, service) -> instances per domain, kept current on every reservation once asked for.
    private readonly Dictionary<(string Key, string Service), int[]> _domainCounts = [];

    // Per (pipeline, spec): nodes passing the static filters. Static filters never depend on reservations.
    internal readonly Dictionary<(object Pipeline, ServiceSpec Spec), StaticEntry> StaticCache = new(StaticKeyComparer.Instance);

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
        _serviceCounts.TryGetValue(service, out var counts) ? counts[index] : 0;

    /// <summary>Instances of <paramref name="service"/> in the whole cluster.</summary>
    public int ServiceTotal(string service) => _serviceTotals.GetValueOrDefault(service);

    /// <summary>Instances of the service per node (indexed like the nodes); empty when it has none.</summary>
    internal int[] ServiceCounts(string service) => _serviceCounts.GetValueOrDefault(service) ?? NoCounts;

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
        if (_domainCounts.TryGetValue((key, service), out var counts)) return counts;
        var domains = Domains(key);
        counts = new int[domains.Values.Length];
        if (_serviceCounts.TryGetValue(service, out var perNode))
            for (var i = 0; i < Count; i++)
                if (perNode[i] != 0 && domains.NodeDomain[i] >= 0) counts[domains.NodeDomain[i]] += perNode[i];
        return _domainCounts[(key, service)] = counts;
    }

    private void AddService(int index, string service, int delta)
    {
        if (!_serviceCounts.TryGetValue(service, out var counts))
        {
            if (delta < 0) return;
            _serviceCounts[service] = counts = new int[Count];
        }
        var before = counts[index];
        counts[index] = Math.Max(0, before + delta);
        _index?.ServiceChanged(service, index, before, counts[index]);
        _serviceTotals[service] = Math.Max(0, _serviceTotals.GetValueOrDefault(service) + delta);
        if (_domainCounts.Count == 0) return;
        foreach (var ((key, name), perDomain) in _domainCounts)
        {
            if (name != service) continue;
            var d = _domains[key].NodeDomain[index];
            if (d >= 0) perDomain[d] = Math.Max(0, perDomain[d] + delta);
        }
    }
}
