using System.Collections.Concurrent;
using VirtualCluster.Api;
using VirtualCluster.Runtime;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Cluster;

/// <summary>
/// The node registry's memory in front of the cluster store: heartbeats (last heartbeat time and reported usage)
/// stay in memory, and a node record is written only when something else about it changes (join, state, capacity,
/// drivers, labels) or, for the heartbeat fields alone, at most once per snapshot interval: the configured one, or
/// <see cref="HeartbeatsPerSnapshot"/> heartbeat intervals when that is longer (a large cluster reports every few
/// minutes, and a snapshot per heartbeat would make every heartbeat a durable write again). Reads of nodes see the
/// newest heartbeat this process took. Every other operation passes straight through.
/// </summary>
/// <remarks>
/// A change is detected against the record this process last read or wrote for that node, and the control plane
/// reads a node right before it changes it (under that node's gate), so a change is never mistaken for a heartbeat,
/// whatever another control plane wrote meanwhile. A new leader starts with an empty memory: it reads the last
/// snapshot and fresh heartbeats refill the memory; the failure detector's grace period covers the gap.
/// </remarks>
internal sealed class LiveNodeStore(IClusterStore inner, TimeProvider time, TimeSpan snapshotInterval, Func<TimeSpan>? heartbeatInterval = null) : IClusterStore
{
    /// <summary>Heartbeats per node between two snapshots of its heartbeat fields, at least (when the configured interval is shorter).</summary>
    public const int HeartbeatsPerSnapshot = 10;

    private readonly ConcurrentDictionary<string, (NodeInfo Record, DateTimeOffset WrittenAt)> _durable = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (DateTimeOffset? LastHeartbeat, ResourceUsage Usage)> _live = new(StringComparer.Ordinal);
    private long _skipped;

    /// <summary>Heartbeat writes absorbed in memory so far (for tests and metrics).</summary>
    public long SkippedWrites => Interlocked.Read(ref _skipped);

    public async Task UpsertNodeAsync(NodeInfo node, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(node);
        _live[node.Id] = (node.LastHeartbeat, node.Usage);
        var now = time.GetUtcNow();
        if (_durable.TryGetValue(node.Id, out var last) && SameShape(last.Record, node) && now - last.WrittenAt < SnapshotInterval)
        {
            Interlocked.Increment(ref _skipped);
            return;
        }
        await inner.UpsertNodeAsync(node, cancellationToken).ConfigureAwait(false);
        _durable[node.Id] = (node, now);
    }

    /// <summary>How long heartbeat fields alone stay in memory: the configured interval or ten heartbeat intervals, the longer.</summary>
    private TimeSpan SnapshotInterval
    {
        get
        {
            var beats = heartbeatInterval is null ? TimeSpan.Zero : HeartbeatsPerSnapshot * heartbeatInterval();
            return beats > snapshotInterval ? beats : snapshotInterval;
        }
    }

    public async Task<IReadOnlyList<NodeInfo>> ListNodesAsync(CancellationToken cancellationToken = default)
    {
        var nodes = await inner.ListNodesAsync(cancellationToken).ConfigureAwait(false);
        foreach (var node in nodes) Seen(node);
        return nodes.Select(Overlay).ToList();
    }

    public async Task<NodeInfo?> FindNodeAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        var node = await inner.FindNodeAsync(idOrName, cancellationToken).ConfigureAwait(false);
        if (node is null) return null;
        Seen(node);
        return Overlay(node);
    }

    /// <summary>Notes a record read from the store as the node's durable state, keeping the time of this process's last write.</summary>
    private void Seen(NodeInfo stored)
    {
        _durable.AddOrUpdate(stored.Id, _ => (stored, DateTimeOffset.MinValue),
            (_, last) => SameShape(last.Record, stored) ? last : (stored, DateTimeOffset.MinValue));
    }

    private NodeInfo Overlay(NodeInfo stored) =>
        _live.TryGetValue(stored.Id, out var live) && (stored.LastHeartbeat is null || live.LastHeartbeat > stored.LastHeartbeat)
            ? stored with { LastHeartbeat = live.LastHeartbeat, Usage = live.Usage }
            : stored;

    /// <summary>
    /// Equal in everything but the heartbeat fields (last heartbeat, usage), as the store would keep it. Compared
    /// field by field (not by serializing both, which cost most of a heartbeat): lists in order, labels by content.
    /// </summary>
    internal static bool SameShape(NodeInfo a, NodeInfo b)
    {
        if (ReferenceEquals(a, b)) return true;
        if (a.Id != b.Id || a.Name != b.Name || a.Address != b.Address || a.Capacity != b.Capacity || a.Ports != b.Ports
            || a.State != b.State || a.ReplicaPort != b.ReplicaPort)
            return false;
        // A record read back from a store may hold null lists (a field missing from its JSON): same as empty.
        IReadOnlyList<string> da = a.Drivers ?? [], db = b.Drivers ?? [];
        if (!ReferenceEquals(da, db))
        {
            if (da.Count != db.Count) return false;
            for (var i = 0; i < da.Count; i++)
                if (!string.Equals(da[i], db[i], StringComparison.Ordinal)) return false;
        }
        if (ReferenceEquals(a.Labels, b.Labels)) return true;
        if ((a.Labels?.Count ?? 0) != (b.Labels?.Count ?? 0)) return false;
        if (a.Labels is null || b.Labels is null) return true;
        foreach (var (key, value) in a.Labels)
            if (!b.Labels.TryGetValue(key, out var other) || !string.Equals(value, other, StringComparison.Ordinal)) return false;
        return true;
    }

    public Task<bool> CreateServiceAsync(ServiceRecord service, IReadOnlyList<ServiceInstance> instances, CancellationToken cancellationToken = default) =>
        inner.CreateServiceAsync(service, instances, cancellationToken);
    public Task<ServiceRecord?> GetServiceAsync(string name, CancellationToken cancellationToken = default) => inner.GetServiceAsync(name, cancellationToken);
    public Task<IReadOnlyList<ServiceRecord>> ListServicesAsync(CancellationToken cancellationToken = default) => inner.ListServicesAsync(cancellationToken);
    public Task<bool> DeleteServiceAsync(string name, CancellationToken cancellationToken = default) => inner.DeleteServiceAsync(name, cancellationToken);
    public Task<IReadOnlyList<ServiceInstance>> ListInstancesAsync(string? service = null, string? nodeId = null, CancellationToken cancellationToken = default) =>
        inner.ListInstancesAsync(service, nodeId, cancellationToken);
    public Task UpsertInstanceAsync(ServiceInstance instance, CancellationToken cancellationToken = default) => inner.UpsertInstanceAsync(instance, cancellationToken);
    public Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken = default) => inner.DeleteInstanceAsync(instanceId, cancellationToken);
    public Task<long> NextEpochAsync(CancellationToken cancellationToken = default) => inner.NextEpochAsync(cancellationToken);
    public Task<IReadOnlyList<long>> NextEpochsAsync(int count, CancellationToken cancellationToken = default) => inner.NextEpochsAsync(count, cancellationToken);
    public Task CommitInstancesAsync(IReadOnlyList<ServiceInstance> added, IReadOnlyList<string> removed, CancellationToken cancellationToken = default) =>
        inner.CommitInstancesAsync(added, removed, cancellationToken);
    public Task UpsertInstancesAsync(IReadOnlyList<ServiceInstance> instances, CancellationToken cancellationToken = default) =>
        inner.UpsertInstancesAsync(instances, cancellationToken);
    public Task<IReadOnlyList<ClusterEvent>> AppendEventsAsync(IReadOnlyList<ClusterEvent> events, CancellationToken cancellationToken = default) =>
        inner.AppendEventsAsync(events, cancellationToken);
    public Task<ClusterEvent> AppendEventAsync(ClusterEvent clusterEvent, CancellationToken cancellationToken = default) => inner.AppendEventAsync(clusterEvent, cancellationToken);
    public Task<IReadOnlyList<ClusterEvent>> ListEventsAsync(long afterSequence, int limit, CancellationToken cancellationToken = default) =>
        inner.ListEventsAsync(afterSequence, limit, cancellationToken);
    public Task<IReadOnlyList<ClusterEvent>> QueryEventsAsync(EventQuery query, CancellationToken cancellationToken = default) => inner.QueryEventsAsync(query, cancellationToken);
    public Task AppendLogsAsync(string instanceId, IReadOnlyList<LogLine> lines, CancellationToken cancellationToken = default) => inner.AppendLogsAsync(instanceId, lines, cancellationToken);
    public Task<IReadOnlyList<LogLine>> ReadLogsAsync(string instanceId, long afterSequence, int limit, CancellationToken cancellationToken = default) =>
        inner.ReadLogsAsync(instanceId, afterSequence, limit, cancellationToken);
    public Task<long> LastLogSequenceAsync(string instanceId, CancellationToken cancellationToken = default) => inner.LastLogSequenceAsync(instanceId, cancellationToken);
    public Task<string?> GetSettingAsync(string key, CancellationToken cancellationToken = default) => inner.GetSettingAsync(key, cancellationToken);
    public Task<string> GetOrAddSettingAsync(string key, string value, CancellationToken cancellationToken = default) => inner.GetOrAddSettingAsync(key, value, cancellationToken);
    public Task<bool> ReplaceSettingAsync(string key, string? expected, string value, CancellationToken cancellationToken = default) =>
        inner.ReplaceSettingAsync(key, expected, value, cancellationToken);
}
