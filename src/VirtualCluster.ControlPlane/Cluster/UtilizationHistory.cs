using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Cluster;

/// <summary>
/// Recent utilization of every node, in memory, for capacity forecasts. Sampled from heartbeats at most once per
/// <see cref="ControlPlaneOptions.UtilizationSampleInterval"/> per node; each series keeps at most
/// <see cref="ControlPlaneOptions.UtilizationHistoryLength"/> samples (oldest dropped). Thread-safe.
/// There is no cluster series: the cluster's forecast is the sum of its nodes' (a cluster total would jump whenever a
/// node joins or leaves). Lost on restart: forecasts start over with the next samples.
/// </summary>
internal sealed class UtilizationHistory(TimeSpan interval, int length)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Queue<UtilizationSample>> _nodes = new(StringComparer.Ordinal);

    /// <summary>Records a node's sample unless its last one is more recent than the interval.</summary>
    public void Record(string nodeId, UtilizationSample sample)
    {
        lock (_gate)
        {
            if (!_nodes.TryGetValue(nodeId, out var series)) _nodes[nodeId] = series = new Queue<UtilizationSample>();
            if (series.Count > 0 && sample.At - series.Last().At < interval) return;
            series.Enqueue(sample);
            while (series.Count > length) series.Dequeue();
        }
    }

    /// <summary>A copy of one node's samples, oldest first (empty when none).</summary>
    public IReadOnlyList<UtilizationSample> Node(string nodeId)
    {
        lock (_gate) return _nodes.TryGetValue(nodeId, out var series) ? [.. series] : [];
    }
}
