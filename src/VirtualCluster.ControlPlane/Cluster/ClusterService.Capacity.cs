using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Cluster;

public sealed partial class ClusterService
{
    private UtilizationHistory? _history;

    // Created on first use (heartbeats arrive concurrently, so exactly one instance must win).
    private UtilizationHistory History => LazyInitializer.EnsureInitialized(ref _history,
        () => new UtilizationHistory(_options.UtilizationSampleInterval, _options.UtilizationHistoryLength));

    /// <summary>Samples a node from its heartbeat: its capacity, what its instances reserve (allocated) and what its agent measured (used).</summary>
    internal void RecordUtilization(NodeInfo node, Resources capacity, ResourceUsage usage, Resources allocated)
    {
        var used = new Resources(usage.CpuMillicores, usage.MemoryBytes, usage.DiskBytes);
        History.Record(node.Id, new UtilizationSample(Now, capacity, allocated, used));
    }

    /// <summary>
    /// Forecast of when each node and the cluster run out of each resource (see <see cref="CapacityForecaster"/>:
    /// nothing before enough history, nothing without a clear trend, the cluster as the sum of its node rows), and
    /// how many more instances of each deployed service fit now.
    /// </summary>
    public async Task<CapacityReport> GetCapacityAsync(CancellationToken ct)
    {
        var rules = _options.ForecastRules();
        var candidates = await BuildCandidatesAsync(ct);
        var nodes = new List<NodeForecast>();
        foreach (var candidate in candidates.OrderBy(c => c.Node.Name, StringComparer.Ordinal))
        {
            if (candidate.Node.State == NodeState.Left) continue;
            var samples = History.Node(candidate.Node.Id);
            if (samples.Count == 0) continue; // joined but not sampled yet: it appears with its first heartbeat
            nodes.Add(new NodeForecast(candidate.Node.Id, candidate.Node.Name, CapacityForecaster.SamplesUsed(samples, rules),
                CapacityForecaster.Forecast(samples, rules)));
        }
        var now = Now;
        var cluster = CapacityForecaster.Cluster(nodes.Select(n => n.Resources), now, rules);
        var pipeline = Pipeline;
        var state = pipeline.CreateState(candidates);
        var fits = new List<FitEstimate>();
        foreach (var service in (await Store.ListServicesAsync(ct)).OrderBy(s => s.Spec.Name, StringComparer.Ordinal))
            fits.Add(new FitEstimate(service.Spec.Name, pipeline.CountFits(state, service.Spec, FitLimit), FitLimit));
        return new CapacityReport(now, cluster, nodes, fits);
    }
}
