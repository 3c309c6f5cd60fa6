using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Cluster;

/// <summary>
/// Recent utilization of every node and of the whole cluster, in memory, for capacity forecasts. Sampled from
/// heartbeats at most once per <see cref="ControlPlaneOptions.UtilizationSampleInterval"/> per node; each series keeps
/// at most <see cref="ControlPlaneOptions.UtilizationHistoryLength"/> samples (oldest dropped). Thread-safe.
/// Lost on restart: forecasts start over with the next samples.
/// </summary>
internal sealed class UtilizationHistory(TimeSpan interval, int length)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Queue<UtilizationSample>> _nodes = new(StringComparer.Ordinal);
    private readonly Queue<UtilizationSample> _cluster = new();

    /// <summary>Records a node's sample unless its last one is more recent than the interval; then the cluster total.</summary>
    public void Record(string nodeId, UtilizationSample sample)
    {
        lock (_gate)
        {
            if (!_nodes.TryGetValue(nodeId, out var series)) _nodes[nodeId] = series = new Queue<UtilizationSample>();
            if (series.Count > 0 && sample.At - series.Last().At < interval) return;
            Add(series, sample);
            if (_cluster.Count > 0 && sample.At - _cluster.Last().At < interval) return;
            // The cluster total is the sum of every node's latest sample, so nodes reporting at different moments add up.
            var capacity = Resources.Zero;
            var used = Resources.Zero;
            foreach (var node in _nodes.Values)
            {
                var latest = node.Last();
                capacity += latest.Capacity;
                used += latest.Used;
            }
            Add(_cluster, new UtilizationSample(sample.At, capacity, used));
        }
    }

    /// <summary>A copy of one node's samples, oldest first (empty when none).</summary>
    public IReadOnlyList<UtilizationSample> Node(string nodeId)
    {
        lock (_gate) return _nodes.TryGetValue(nodeId, out var series) ? [.. series] : [];
    }

    /// <summary>A copy of the cluster's samples, oldest first.</summary>
    public IReadOnlyList<UtilizationSample> Cluster()
    {
        lock (_gate) return [.. _cluster];
    }

    private void Add(Queue<UtilizationSample> series, UtilizationSample sample)
    {
        series.Enqueue(sample);
        while (series.Count > length) series.Dequeue();
    }
}
