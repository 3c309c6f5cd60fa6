using System.Collections.Immutable;
using System.Collections.Concurrent;
using VirtualCluster.Api;
using VirtualCluster.Runtime;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Cluster;

/// <summary>What a change did to the capacity the scheduler sees, for the kept scheduling state.</summary>
internal enum CapacityChangeKind
{
    /// <summary>An instance stopped holding its resources and ports (it ended, or its record went).</summary>
    Release,
    /// <summary>Something the kept state cannot follow step by step (nodes, foreign placements): build it again.</summary>
    Rebuild,
}

/// <param name="Version">Snapshot version that holds the change.</param>
internal sealed record CapacityChange(long Version, CapacityChangeKind Kind, string? NodeId = null, ServiceSpec? Spec = null, IReadOnlyCollection<int>? Ports = null);

/// <summary>
/// The leader's in-memory cluster state for one leadership term, in front of the cluster store: loaded from the
/// store on first use, then kept current by this process's own writes, which go through it (write to the store
/// first, then to memory, one writer at a time, so memory follows the store's order). Reads take the current
/// <see cref="ClusterSnapshot"/> without a lock. Capacity changes are queued for the kept scheduling state.
/// </summary>
/// <remarks>
/// Only the leader writes the cluster state (every write is fenced by its leadership), so while a term lasts no
/// change comes from elsewhere; a new term starts with a new instance that loads what the last leader left. A write
/// that fails leaves memory marked stale, and the next read loads the store again, so an ambiguous failure (a
/// timeout after the store applied it) cannot leave memory behind the store.
/// </remarks>
internal sealed class LiveClusterState(IClusterStore inner) : IClusterStore
{
    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly ConcurrentQueue<CapacityChange> _changes = new();
    private volatile ClusterSnapshot? _snapshot;
    private long _version;
    /// <summary>Last stored log sequence per instance (read once, then kept): a heartbeat answers with every cursor.</summary>
    private readonly ConcurrentDictionary<string, long> _logCursors = new(StringComparer.Ordinal);
    private long _logGeneration;
    /// <summary>Services whose record or instances changed since the reconciler last took them; all of them after a load.</summary>
    private readonly HashSet<string> _changedServices = new(StringComparer.Ordinal);
    private bool _allServicesChanged = true;
    private int _loads;

    /// <summary>Times the state was loaded from the store (once per term, plus after a failed write).</summary>
    public int Loads => Volatile.Read(ref _loads);

    /// <summary>The last snapshot published, or null before the first load (never loads: for metrics, which must not block).</summary>
    public ClusterSnapshot? Current => _snapshot;

    /// <summary>The current snapshot, loading the store first when needed.</summary>
    public async ValueTask<ClusterSnapshot> SnapshotAsync(CancellationToken ct)
    {
        var snapshot = _snapshot;
        if (snapshot is not null) return snapshot;
        await _write.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return _snapshot ?? await LoadAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _write.Release();
        }
    }

    /// <summary>
    /// Takes the names of the services whose record or instances were written since the last call (the reconciler's
    /// changed set); null when every service must be looked at (the state was loaded, or a write failed and memory
    /// will be loaded again).
    /// </summary>
    public HashSet<string>? TakeChangedServices()
    {
        lock (_changedServices)
        {
            if (_allServicesChanged)
            {
                _allServicesChanged = false;
                _changedServices.Clear();
                return null;
            }
            var taken = new HashSet<string>(_changedServices, StringComparer.Ordinal);
            _changedServices.Clear();
            return taken;
        }
    }

    private void ServiceChanged(string? name)
    {
        if (name is null) return;
        lock (_changedServices) _changedServices.Add(name);
    }

    private void EveryServiceChanged()
    {
        lock (_changedServices) _allServicesChanged = true;
    }

    /// <summary>The next queued capacity change, oldest first.</summary>
    public bool TryTakeChange(out CapacityChange change) => _changes.TryDequeue(out change!);

    private async Task<ClusterSnapshot> LoadAsync(CancellationToken ct)
    {
        var builder = ClusterSnapshot.Empty.ToBuilder();
        foreach (var node in await inner.ListNodesAsync(ct).ConfigureAwait(false)) builder.PutNode(node);
        foreach (var service in await inner.ListServicesAsync(ct).ConfigureAwait(false)) builder.PutService(service);
        foreach (var instance in await inner.ListInstancesAsync(cancellationToken: ct).ConfigureAwait(false))
            if (builder.Service(instance.Service) is not null) builder.PutInstance(instance);
        Interlocked.Increment(ref _loads);
        EveryServiceChanged();
        return Publish(builder, [CapacityChangeKind.Rebuild]);
    }

    private ClusterSnapshot Publish(ClusterSnapshot.Builder builder, IEnumerable<object> changes)
    {
        var version = Interlocked.Increment(ref _version);
        var snapshot = builder.ToSnapshot(version);
        // Published before its changes are queued: whoever takes a change finds a snapshot that holds it.
        _snapshot = snapshot;
        foreach (var change in changes)
        {
            _changes.Enqueue(change switch
            {
                CapacityChangeKind kind => new CapacityChange(version, kind),
                CapacityChange c => c with { Version = version },
                _ => throw new InvalidOperationException("unknown change"),
            });
        }
        return snapshot;
    }

    /// <summary>Runs a store write, then applies it to memory; both under the writer lock.</summary>
    private async Task<T> WriteAsync<T>(Func<Task<T>> write, Func<ClusterSnapshot.Builder, T, List<object>> apply, CancellationToken ct)
    {
        await _write.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var current = _snapshot ?? await LoadAsync(ct).ConfigureAwait(false);
            T result;
            try
            {
                result = await write().ConfigureAwait(false);
            }
            catch
            {
                _snapshot = null; // Whether the store applied it is unknown: read it again before the next answer.
                ForgetLogCursors(_logCursors.Keys); // a removal may have taken an instance's logs with it
                EveryServiceChanged();
                throw;
            }
            var builder = current.ToBuilder();
            var changes = apply(builder, result);
            Publish(builder, changes);
            return result;
        }
        finally
        {
            _write.Release();
        }
    }

    private void InstanceChanged(ClusterSnapshot.Builder builder, ServiceInstance? old, ServiceInstance? now, bool planned, List<object> changes)
    {
        ServiceChanged(old?.Service);
        if (now is not null && now.Service != old?.Service) ServiceChanged(now.Service);
        var held = old is { IsTerminal: false };
        var holds = now is { IsTerminal: false };
        if (held && !holds)
        {
            if (builder.Service(old!.Service) is { } service)
                changes.Add(new CapacityChange(0, CapacityChangeKind.Release, old.NodeId, service.Spec, old.Ports.Values.ToList()));
        }
        else if (holds && (!held || old!.NodeId != now!.NodeId || !old.Ports.OrderBy(p => p.Key).SequenceEqual(now.Ports.OrderBy(p => p.Key))))
        {
            // A placement the planner made is already in its state; one made elsewhere is not.
            if (!(planned && old is null)) changes.Add(CapacityChangeKind.Rebuild);
        }
    }

    public async Task UpsertNodeAsync(NodeInfo node, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(node);
        await _write.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = _snapshot ?? await LoadAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await inner.UpsertNodeAsync(node, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                _snapshot = null; // Whether the store applied it is unknown: read it again before the next answer.
                throw;
            }
            var old = current.Nodes.GetValueOrDefault(node.Id);
            // Heartbeat fields (last heartbeat, reported usage) do not change what the kept state holds, nor any
            // index: the common case (every heartbeat) replaces the one record and shares everything else.
            if (old is not null && SameShape(old, node))
            {
                _snapshot = current.WithNode(node, Interlocked.Increment(ref _version));
                return;
            }
            var builder = current.ToBuilder();
            builder.PutNode(node);
            Publish(builder, [CapacityChangeKind.Rebuild]);
        }
        finally
        {
            _write.Release();
        }
    }

    /// <summary>
    /// Equal in everything but the heartbeat fields (everything the scheduler reads from a node record), compared
    /// field by field without allocating: every heartbeat asks.
    /// </summary>
    private static bool SameShape(NodeInfo a, NodeInfo b) => LiveNodeStore.SameShape(a, b);

    public async Task<IReadOnlyList<NodeInfo>> ListNodesAsync(CancellationToken cancellationToken = default) =>
        (await SnapshotAsync(cancellationToken).ConfigureAwait(false)).NodesInOrder();

    public async Task<NodeInfo?> FindNodeAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(idOrName);
        return (await SnapshotAsync(cancellationToken).ConfigureAwait(false)).FindNode(idOrName);
    }

    public Task<bool> CreateServiceAsync(ServiceRecord service, IReadOnlyList<ServiceInstance> instances, CancellationToken cancellationToken = default) =>
        CreateServiceAsync(service, instances, planned: false, cancellationToken);

    /// <summary>Creates a service; <paramref name="planned"/> when its instances are already reserved in the kept scheduling state.</summary>
    public Task<bool> CreateServiceAsync(ServiceRecord service, IReadOnlyList<ServiceInstance> instances, bool planned, CancellationToken cancellationToken) =>
        WriteAsync(() => inner.CreateServiceAsync(service, instances, cancellationToken), (b, created) =>
        {
            List<object> changes = [];
            if (!created) return changes;
            ServiceChanged(service.Spec.Name);
            b.PutService(service);
            foreach (var instance in instances)
            {
                b.PutInstance(instance);
                InstanceChanged(b, null, instance, planned, changes);
            }
            return changes;
        }, cancellationToken);

    public async Task<ServiceRecord?> GetServiceAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        return (await SnapshotAsync(cancellationToken).ConfigureAwait(false)).Services.GetValueOrDefault(name);
    }

    public async Task<IReadOnlyList<ServiceRecord>> ListServicesAsync(CancellationToken cancellationToken = default) =>
        (await SnapshotAsync(cancellationToken).ConfigureAwait(false)).Services.Values.OrderBy(s => s.Spec.Name, StringComparer.Ordinal).ToList();

    public Task<bool> DeleteServiceAsync(string name, CancellationToken cancellationToken = default) =>
        WriteAsync(() => inner.DeleteServiceAsync(name, cancellationToken), (b, deleted) =>
        {
            List<object> changes = [];
            if (!deleted) return changes;
            ServiceChanged(name);
            foreach (var instance in b.RemoveService(name))
            {
                ForgetLogCursor(instance.Id);
                if (!instance.IsTerminal) changes.Add(CapacityChangeKind.Rebuild);
            }
            return changes.Take(1).ToList();
        }, cancellationToken);

    public async Task<IReadOnlyList<ServiceInstance>> ListInstancesAsync(string? service = null, string? nodeId = null, CancellationToken cancellationToken = default)
    {
        var snapshot = await SnapshotAsync(cancellationToken).ConfigureAwait(false);
        // One index entry: its records in id order are kept with it while the instance table stays the same, so a
        // reconcile pass that asks for every service's instances of a steady cluster costs a lookup per service.
        if ((service is null) != (nodeId is null))
        {
            var index = service is not null ? snapshot.InstancesByService : snapshot.InstancesByNode;
            if (!index.TryGetValue(service ?? nodeId!, out var set)) return [];
            return Array.AsReadOnly(InOrder(set, snapshot.Instances));
        }
        IEnumerable<ServiceInstance> found = nodeId is not null ? snapshot.InstancesOn(nodeId)
            : service is not null ? snapshot.InstancesOf(service)
            : snapshot.Instances.Values;
        if (nodeId is not null && service is not null) found = found.Where(i => i.Service == service);
        return found.OrderBy(i => i.Id, StringComparer.Ordinal).ToList();
    }

    public Task UpsertInstanceAsync(ServiceInstance instance, CancellationToken cancellationToken = default) =>
        WriteAsync(async () => { await inner.UpsertInstanceAsync(instance, cancellationToken).ConfigureAwait(false); return true; }, (b, _) =>
        {
            List<object> changes = [];
            var old = b.Instance(instance.Id);
            b.PutInstance(instance);
            InstanceChanged(b, old, instance, planned: false, changes);
            return changes;
        }, cancellationToken);

    public Task UpsertInstancesAsync(IReadOnlyList<ServiceInstance> instances, CancellationToken cancellationToken = default) =>
        WriteAsync(async () => { await inner.UpsertInstancesAsync(instances, cancellationToken).ConfigureAwait(false); return true; }, (b, _) =>
        {
            List<object> changes = [];
            foreach (var instance in instances)
            {
                var old = b.Instance(instance.Id);
                b.PutInstance(instance);
                InstanceChanged(b, old, instance, planned: false, changes);
            }
            return changes;
        }, cancellationToken);

    public Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken = default) =>
        WriteAsync(async () => { await inner.DeleteInstanceAsync(instanceId, cancellationToken).ConfigureAwait(false); return true; }, (b, _) =>
        {
            List<object> changes = [];
            ForgetLogCursor(instanceId); // its logs went with it
            InstanceChanged(b, b.RemoveInstance(instanceId), null, planned: false, changes);
            return changes;
        }, cancellationToken);

    public Task CommitInstancesAsync(IReadOnlyList<ServiceInstance> added, IReadOnlyList<string> removed, CancellationToken cancellationToken = default) =>
        CommitInstancesAsync(added, removed, planned: false, cancellationToken);

    /// <summary>Stores a plan's instances; <paramref name="planned"/> when the added ones are already reserved in the kept scheduling state.</summary>
    public Task CommitInstancesAsync(IReadOnlyList<ServiceInstance> added, IReadOnlyList<string> removed, bool planned, CancellationToken cancellationToken) =>
        WriteAsync(async () => { await inner.CommitInstancesAsync(added, removed, cancellationToken).ConfigureAwait(false); return true; }, (b, _) =>
        {
            List<object> changes = [];
            foreach (var instance in added)
            {
                var old = b.Instance(instance.Id);
                b.PutInstance(instance);
                InstanceChanged(b, old, instance, planned, changes);
            }
            foreach (var id in removed)
            {
                ForgetLogCursor(id);
                InstanceChanged(b, b.RemoveInstance(id), null, planned: false, changes);
            }
            return changes;
        }, cancellationToken);

    public Task<long> NextEpochAsync(CancellationToken cancellationToken = default) => inner.NextEpochAsync(cancellationToken);
    public Task<IReadOnlyList<long>> NextEpochsAsync(int count, CancellationToken cancellationToken = default) => inner.NextEpochsAsync(count, cancellationToken);
    public Task<ClusterEvent> AppendEventAsync(ClusterEvent clusterEvent, CancellationToken cancellationToken = default) => inner.AppendEventAsync(clusterEvent, cancellationToken);
    public Task<IReadOnlyList<ClusterEvent>> AppendEventsAsync(IReadOnlyList<ClusterEvent> events, CancellationToken cancellationToken = default) =>
        inner.AppendEventsAsync(events, cancellationToken);
    public Task<IReadOnlyList<ClusterEvent>> ListEventsAsync(long afterSequence, int limit, CancellationToken cancellationToken = default) =>
        inner.ListEventsAsync(afterSequence, limit, cancellationToken);
    public Task<IReadOnlyList<ClusterEvent>> QueryEventsAsync(EventQuery query, CancellationToken cancellationToken = default) => inner.QueryEventsAsync(query, cancellationToken);
    public async Task AppendLogsAsync(string instanceId, IReadOnlyList<LogLine> lines, CancellationToken cancellationToken = default)
    {
        try
        {
            await inner.AppendLogsAsync(instanceId, lines, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ForgetLogCursor(instanceId);
        }
    }
    public Task<IReadOnlyList<LogLine>> ReadLogsAsync(string instanceId, long afterSequence, int limit, CancellationToken cancellationToken = default) =>
        inner.ReadLogsAsync(instanceId, afterSequence, limit, cancellationToken);
    public async Task<long> LastLogSequenceAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        if (_logCursors.TryGetValue(instanceId, out var cached)) return cached;
        var generation = Volatile.Read(ref _logGeneration);
        var last = await inner.LastLogSequenceAsync(instanceId, cancellationToken).ConfigureAwait(false);
        // Kept only when no append or removal happened meanwhile (it could have made this read stale).
        lock (_logCursors)
            if (Volatile.Read(ref _logGeneration) == generation) _logCursors[instanceId] = last;
        return last;
    }

    /// <summary>The last stored log sequence of an instance when it is known in memory (no store read, no allocation).</summary>
    public bool TryGetLogCursor(string instanceId, out long last) => _logCursors.TryGetValue(instanceId, out last);

    private void ForgetLogCursor(string instanceId)
    {
        lock (_logCursors)
        {
            Interlocked.Increment(ref _logGeneration);
            _logCursors.TryRemove(instanceId, out _);
        }
    }

    private void ForgetLogCursors(IEnumerable<string> instanceIds)
    {
        foreach (var id in instanceIds) ForgetLogCursor(id);
    }

    /// <summary>
    /// The records of an index entry in id order: sorted once per entry (entries are immutable: a change makes a new
    /// one), and read again from the instance table only when that table changed (any instance write makes a new one).
    /// </summary>
    private static ServiceInstance[] InOrder(ImmutableHashSet<string> set, ImmutableDictionary<string, ServiceInstance> table)
    {
        var kept = InOrderKept.GetValue(set, s =>
        {
            var sorted = s.ToArray();
            Array.Sort(sorted, StringComparer.Ordinal);
            return new KeptOrder(sorted);
        });
        var last = kept.Last;
        if (ReferenceEquals(last?.From, table)) return last!.Records;
        var records = new ServiceInstance[kept.Ids.Length];
        for (var i = 0; i < records.Length; i++) records[i] = table[kept.Ids[i]];
        kept.Last = new RecordsRead(table, records);
        return records;
    }

    /// <summary>An index entry's ids in order and the records last read for them.</summary>
    private sealed class KeptOrder(string[] ids)
    {
        public string[] Ids { get; } = ids;
        /// <summary>Replaced whole (one reference), so a reader on another thread sees records that match their table.</summary>
        public volatile RecordsRead? Last;
    }

    private sealed record RecordsRead(ImmutableDictionary<string, ServiceInstance> From, ServiceInstance[] Records);

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ImmutableHashSet<string>, KeptOrder> InOrderKept = new();
    public Task<string?> GetSettingAsync(string key, CancellationToken cancellationToken = default) => inner.GetSettingAsync(key, cancellationToken);
    public Task<string> GetOrAddSettingAsync(string key, string value, CancellationToken cancellationToken = default) => inner.GetOrAddSettingAsync(key, value, cancellationToken);
    public Task<bool> ReplaceSettingAsync(string key, string? expected, string value, CancellationToken cancellationToken = default) =>
        inner.ReplaceSettingAsync(key, expected, value, cancellationToken);
}
