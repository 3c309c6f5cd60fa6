using System.Collections.Concurrent;
using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Cluster;

// The heartbeat interval told to agents grows with the cluster, so the leader's load stays bounded (Nomad's rule).
public sealed partial class ClusterService
{
    /// <summary>The interval told in the last heartbeat answer (sizes the node snapshots' interval, see <see cref="LiveNodeStore"/>).</summary>
    private long _lastToldTicks;

    /// <summary>Longest interval ever told (agents clamp to the same bound).</summary>
    public static readonly TimeSpan MaxHeartbeatInterval = TimeSpan.FromMinutes(5);

    /// <summary>What each node was told in its last heartbeat answer, for judging it afterwards (its lease).</summary>
    private readonly ConcurrentDictionary<string, Told> _told = new(StringComparer.Ordinal);

    /// <summary>Mutable in place, so a steady heartbeat does not allocate for it.</summary>
    private sealed class Told(TimeSpan interval, TimeSpan lease)
    {
        public TimeSpan Interval = interval;
        public TimeSpan Lease = lease;
    }

    /// <summary>
    /// The interval to tell agents of a cluster with <paramref name="reportingNodes"/> nodes that report:
    /// max(<see cref="ControlPlaneOptions.HeartbeatInterval"/>, nodes / <see cref="ControlPlaneOptions.MaxHeartbeatsPerSecond"/>),
    /// rounded up to a whole millisecond, at most <see cref="MaxHeartbeatInterval"/>.
    /// </summary>
    public static TimeSpan HeartbeatIntervalFor(ControlPlaneOptions options, int reportingNodes)
    {
        ArgumentNullException.ThrowIfNull(options);
        var configured = options.HeartbeatInterval;
        var rate = options.MaxHeartbeatsPerSecond;
        if (reportingNodes <= 0 || !(rate > 0)) return configured;
        var spreadMs = Math.Ceiling(reportingNodes * 1000.0 / rate);
        if (spreadMs <= configured.TotalMilliseconds) return configured;
        return spreadMs >= MaxHeartbeatInterval.TotalMilliseconds ? MaxHeartbeatInterval : TimeSpan.FromMilliseconds(spreadMs);
    }

    /// <summary>The fencing lease that goes with an interval: the configured one, longer by twice the extra interval (zero stays zero).</summary>
    internal TimeSpan FencingLeaseFor(TimeSpan interval) =>
        _options.FencingLease == TimeSpan.Zero ? TimeSpan.Zero
            : _options.FencingLease + 2 * (interval > _options.HeartbeatInterval ? interval - _options.HeartbeatInterval : TimeSpan.Zero);

    /// <summary>The interval to tell agents now, from the count of nodes that report (the term's memory while leading).</summary>
    internal async ValueTask<TimeSpan> HeartbeatIntervalAsync(CancellationToken ct)
    {
        int nodes;
        if (Term is { } term) nodes = (await term.State.SnapshotAsync(ct)).ReportingNodes;
        else nodes = (await Store.ListNodesAsync(ct)).Count(n => n.State != NodeState.Left);
        return HeartbeatIntervalFor(_options, nodes);
    }

    /// <summary>
    /// Notes what a heartbeat answer tells a node and returns the interval to judge its next silence against: the
    /// longer of this one and the one told before, since an agent of an earlier release measures the gap after this
    /// heartbeat with the interval it knew when it sent it (a shrinking interval must not make it look late).
    /// </summary>
    private TimeSpan NoteTold(string nodeId, TimeSpan interval, TimeSpan lease)
    {
        Volatile.Write(ref _lastToldTicks, interval.Ticks);
        if (!_told.TryGetValue(nodeId, out var told))
        {
            _told[nodeId] = new Told(interval, lease);
            return interval;
        }
        lock (told)
        {
            var judged = told.Interval > interval ? told.Interval : interval;
            told.Interval = interval;
            told.Lease = lease;
            return judged;
        }
    }

    /// <summary>
    /// The fencing lease a node may still hold: the longer of the one it was last told and the one that goes with
    /// <paramref name="currentInterval"/> (a node this leader never answered may hold a lease from the last one).
    /// </summary>
    private TimeSpan LeaseHeldBy(string nodeId, TimeSpan currentInterval)
    {
        var lease = FencingLeaseFor(currentInterval);
        if (_told.TryGetValue(nodeId, out var told))
            lock (told)
                if (told.Lease > lease) lease = told.Lease;
        return lease;
    }
}
