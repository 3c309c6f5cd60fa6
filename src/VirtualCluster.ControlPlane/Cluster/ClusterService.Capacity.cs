using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Cluster;

public sealed partial class ClusterService
{
    private UtilizationHistory? _history;

    // Created on first use (heartbeats arrive concurrently, so exactly one instance must win).
    private UtilizationHistory History => LazyInitializer.EnsureInitialized(ref _history,
        () => new UtilizationHistory(_options.UtilizationSampleInterval, _options.UtilizationHistoryLength));

    /// <summary>
    /// Samples a node's utilization from its heartbeat: per dimension the larger of what its instances reserve and
    /// what it measured (CPU counts reservations only, as the scheduler does by default).
    /// </summary>
    internal void RecordUtilization(NodeInfo node, Resources capacity, ResourceUsage usage,
        IEnumerable<ServiceInstance> instances, IReadOnlyDictionary<string, ServiceRecord> services)
    {
        var allocated = Resources.Zero;
        foreach (var instance in instances)
            if (!instance.IsTerminal && services.TryGetValue(instance.Service, out var service)) allocated += service.Spec.Resources;
        var options = Pipeline.Options;
        var measured = options.UseMeasuredUsage ? usage : default;
        var used = new Resources(
            options.CountCpuUsage ? Math.Max(allocated.CpuMillicores, measured.CpuMillicores) : allocated.CpuMillicores,
            Math.Max(allocated.MemoryBytes, measured.MemoryBytes),
            Math.Max(allocated.DiskBytes, measured.DiskBytes),
            allocated.Gpus);
        History.Record(node.Id, new UtilizationSample(Now, capacity, used));
    }

    /// <summary>
    /// Forecast of when the cluster and each node run out of each resource at the current trend (least squares over
    /// <see cref="ControlPlaneOptions.CapacityWindow"/>), and how many more instances of each deployed service fit now.
    /// </summary>
    public async Task<CapacityReport> GetCapacityAsync(CancellationToken ct)
    {
        var window = _options.CapacityWindow;
        var candidates = await BuildCandidatesAsync(ct);
        var nodes = new List<NodeForecast>();
        foreach (var candidate in candidates.OrderBy(c => c.Node.Name, StringComparer.Ordinal))
        {
            var samples = History.Node(candidate.Node.Id);
            if (candidate.Node.State == NodeState.Left) continue;
            nodes.Add(new NodeForecast(candidate.Node.Id, candidate.Node.Name, samples.Count, CapacityForecaster.Forecast(samples, window)));
        }
        var cluster = CapacityForecaster.Forecast(History.Cluster(), window);
        var pipeline = Pipeline;
        var state = pipeline.CreateState(candidates);
        var fits = new List<FitEstimate>();
        foreach (var service in (await _store.ListServicesAsync(ct)).OrderBy(s => s.Spec.Name, StringComparer.Ordinal))
            fits.Add(new FitEstimate(service.Spec.Name, pipeline.CountFits(state, service.Spec, FitLimit), FitLimit));
        return new CapacityReport(Now, cluster, nodes, fits);
    }
}
