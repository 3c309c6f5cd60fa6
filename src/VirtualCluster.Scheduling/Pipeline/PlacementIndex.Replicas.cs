namespace VirtualCluster.Scheduling;

/// <summary>
/// For required anti-affinity: per service asked for, how many nodes below each tree node hold no replica of it, so
/// the search skips subtrees where every node already runs one (their buckets would be reached and every node
/// rejected). Built on first use per service and layout (O(n)); kept by <see cref="ServiceChanged"/> in O(log n)
/// when a node's count of the service goes from 0 to 1 or back.
/// </summary>
internal sealed partial class PlacementIndex
{
    private readonly Dictionary<string, (int Layout, int[] Free)> _withoutReplica = new(StringComparer.Ordinal);

    /// <summary>Per tree node, the nodes below without a replica of <paramref name="service"/> (padding slots excluded).</summary>
    public int[] WithoutReplica(string service)
    {
        if (_withoutReplica.TryGetValue(service, out var entry) && entry.Layout == Layout) return entry.Free;
        var counts = _s.ServiceCounts(service);
        var free = entry.Free ?? new int[2 * _leaves];
        for (var t = _leaves; t < 2 * _leaves; t++)
        {
            var (start, count) = Bucket(t - _leaves);
            var n = 0;
            for (var p = start; p < start + count; p++)
            {
                var i = _order[p];
                if (i >= 0 && (counts.Length == 0 || counts[i] == 0)) n++;
            }
            free[t] = n;
        }
        for (var t = _leaves - 1; t >= 1; t--) free[t] = free[2 * t] + free[2 * t + 1];
        _withoutReplica[service] = (Layout, free);
        return free;
    }

    /// <summary>Called by the state when a node's count of a service changes from <paramref name="before"/> to <paramref name="after"/>.</summary>
    public void ServiceChanged(string service, int node, int before, int after)
    {
        if ((before == 0) == (after == 0) || _withoutReplica.Count == 0) return;
        if (!_withoutReplica.TryGetValue(service, out var entry) || entry.Layout != Layout) return;
        var delta = after == 0 ? 1 : -1;
        for (var t = _leaves + _position[node] / BucketSize; t >= 1; t >>= 1) entry.Free[t] += delta;
    }
}
