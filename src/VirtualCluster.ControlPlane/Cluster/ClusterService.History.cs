using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Cluster;

/// <summary>What the history keeps of a node at one moment (fractions of capacity, 0-1).</summary>
internal sealed record NodeHistorySample(string Name, double Cpu, double Memory, double Disk, double CpuAllocated, double MemoryAllocated, int Instances, double Phi,
    double NetworkReceive = double.NaN, double NetworkTransmit = double.NaN);

/// <summary>What the history keeps of a service at one moment.</summary>
/// <param name="CpuMillicores">CPU its running instances use together, as their agents measured it (NaN when none was measured).</param>
/// <param name="MemoryBytes">Resident memory of its running instances together (NaN when none was measured).</param>
internal sealed record ServiceHistorySample(string Name, int Desired, int Running, int Restarts, double CpuMillicores = double.NaN, double MemoryBytes = double.NaN);

public sealed partial class ClusterService
{
    /// <summary>Metric names of a node's history, in <see cref="NodeHistorySample"/> order.</summary>
    internal static readonly string[] NodeHistoryMetrics = ["cpu", "memory", "disk", "cpu_allocated", "memory_allocated", "instances", "phi", "network_rx", "network_tx"];

    // Each node's last reported network rates: heartbeats carry them, the history and the rules read them here.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (long Received, long Sent)> _network = new(StringComparer.Ordinal);

    /// <summary>Metric names of a service's history.</summary>
    internal static readonly string[] ServiceHistoryMetrics = ["desired", "running", "restarts", "cpu_millicores", "memory_bytes"];

    // Each instance's last measured usage (agents report it with the instance); the history, views and top read it here.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, InstanceUsage> _instanceUsage = new(StringComparer.Ordinal);

    /// <summary>Upper bounds of a believable report (a million cores, a pebibyte); anything else is ignored.</summary>
    private const long MaxReportedMillicores = 1_000_000_000, MaxReportedMemory = 1L << 50;

    private void RecordInstanceUsage(string instanceId, InstanceUsage? usage)
    {
        if (usage is { CpuMillicores: >= 0 and <= MaxReportedMillicores, MemoryBytes: >= 0 and <= MaxReportedMemory })
            _instanceUsage[instanceId] = usage;
    }

    /// <summary>What an instance used when its agent last measured it, or null.</summary>
    internal InstanceUsage? UsageOf(string instanceId) => _instanceUsage.GetValueOrDefault(instanceId);

    /// <summary>
    /// Every live node's latest utilization and every service's counts, or null when this control plane does not lead
    /// (only the leader hears heartbeats). A node not sampled yet has NaN utilization.
    /// </summary>
    internal (IReadOnlyList<NodeHistorySample> Nodes, IReadOnlyList<ServiceHistorySample> Services)? HistoryFacts()
    {
        if (Volatile.Read(ref _term)?.State.Current is not { } snapshot) return null;
        var nodes = new List<NodeHistorySample>();
        foreach (var node in snapshot.Nodes.Values)
        {
            if (node.State == NodeState.Left) continue;
            var last = History.Last(node.Id); // every node every 10 s: the last sample only, not a copy of the series
            var running = snapshot.InstancesByNode.TryGetValue(node.Id, out var ids)
                ? ids.Count(id => snapshot.Instances.TryGetValue(id, out var i) && i.State == InstanceState.Running) : 0;
            var phi = _detector.Inspect(node.Id).Phi;
            var (received, sent) = Network(node.Id);
            if (last is not { } s)
            {
                nodes.Add(new NodeHistorySample(node.Name, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, running, Bounded(phi),
                    received, sent));
                continue;
            }
            nodes.Add(new NodeHistorySample(node.Name,
                Fraction(s.Used.CpuMillicores, s.Capacity.CpuMillicores), Fraction(s.Used.MemoryBytes, s.Capacity.MemoryBytes),
                Fraction(s.Used.DiskBytes, s.Capacity.DiskBytes), Fraction(s.Allocated.CpuMillicores, s.Capacity.CpuMillicores),
                Fraction(s.Allocated.MemoryBytes, s.Capacity.MemoryBytes), running, Bounded(phi),
                received, sent));
        }
        var services = snapshot.Services.Values.Select(s =>
        {
            var instances = snapshot.InstancesOf(s.Spec.Name).ToList();
            var measured = instances.Where(i => i.State == InstanceState.Running).Select(i => UsageOf(i.Id)).OfType<InstanceUsage>().ToList();
            return new ServiceHistorySample(s.Spec.Name, s.Spec.Replicas, instances.Count(i => i.State == InstanceState.Running),
                instances.Sum(i => i.RestartCount),
                measured.Count > 0 ? measured.Sum(u => (double)u.CpuMillicores) : double.NaN,
                measured.Count > 0 ? measured.Sum(u => (double)u.MemoryBytes) : double.NaN);
        }).ToList();
        // Instances that are gone leave their last figures behind; drop them here, where every instance is at hand.
        foreach (var id in _instanceUsage.Keys)
            if (!snapshot.Instances.ContainsKey(id)) _instanceUsage.TryRemove(id, out _);
        return (nodes, services);
    }

    /// <summary>The name of the node with this id or name, or null when there is none.</summary>
    internal async Task<string?> HistoryNodeNameAsync(string idOrName, CancellationToken ct) => (await Store.FindNodeAsync(idOrName, ct))?.Name;

    private (double Received, double Sent) Network(string nodeId) =>
        _network.TryGetValue(nodeId, out var n) ? (n.Received, n.Sent) : (double.NaN, double.NaN);

    private static double Fraction(long part, long whole) => whole > 0 ? (double)part / whole : double.NaN;

    // phi grows without bound while a node is silent; past 1,000 it says nothing more
    private static double Bounded(double phi) => double.IsNaN(phi) ? double.NaN : Math.Min(phi, 1_000);
}
