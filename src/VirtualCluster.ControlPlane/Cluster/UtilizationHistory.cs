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
    private readonly Dictionary<string, UtilizationSample> _last = new(StringComparer.Ordinal); // Queue has no O(1) last

    /// <summary>Records a node's sample unless its last one is more recent than the interval.</summary>
    public void Record(string nodeId, UtilizationSample sample)
    {
        lock (_gate)
        {
            if (!_nodes.TryGetValue(nodeId, out var series)) _nodes[nodeId] = series = new Queue<UtilizationSample>();
            if (_last.TryGetValue(nodeId, out var last) && sample.At - last.At < interval) return;
            series.Enqueue(sample);
            _last[nodeId] = sample;
            while (series.Count > length) series.Dequeue();
        }
    }

    /// <summary>One node's latest sample, or null when none (without copying the series).</summary>
    public UtilizationSample? Last(string nodeId)
    {
        lock (_gate) return _last.TryGetValue(nodeId, out var last) ? last : null;
    }

    /// <summary>A copy of one node's samples, oldest first (empty when none).</summary>
    public IReadOnlyList<UtilizationSample> Node(string nodeId)
    {
        lock (_gate) return _nodes.TryGetValue(nodeId, out var series) ? [.. series] : [];
    }
}
