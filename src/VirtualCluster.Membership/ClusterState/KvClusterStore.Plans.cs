using System.Globalization;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.ClusterState;

// Plans written in few transactions: new instances with the records they replace, and runs of events.
public sealed partial class KvClusterStore
{
    // An added instance: its id must be free (1 condition), the record and two index entries (3 puts); its service's
    // record unchanged (1 condition, shared by the instances of that service in one transaction).
    private const int OpsPerAddedInstance = 5;
    // A removed instance: its id entry and record unchanged (2 conditions), both deleted with its node entry and logs (5).
    private const int OpsPerRemovedInstance = 7;

    /// <inheritdoc />
    /// <remarks>
    /// Each transaction holds whole pairs (the added instance and the removal at the same position), as many as fit
    /// in <see cref="KvClusterStoreOptions.MaxTransactionSize"/>. A transaction whose conditions fail (a service
    /// deleted, an id taken, a removed record changed meanwhile) stops the plan with nothing of it applied.
    /// </remarks>
    public async Task CommitInstancesAsync(IReadOnlyList<ServiceInstance> added, IReadOnlyList<string> removed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(added);
        ArgumentNullException.ThrowIfNull(removed);
        foreach (var instance in added)
        {
            ValidateSegment(instance.Id, "instance id");
            ValidateSegment(instance.NodeId, "node id");
            ValidateSegment(instance.Service, "service name");
        }
        await EnsureLayoutAsync(cancellationToken).ConfigureAwait(false);
        var pairs = Math.Max(added.Count, removed.Count);
        var perChunk = Math.Max(1, (_options.MaxTransactionSize - 1) / (OpsPerAddedInstance + OpsPerRemovedInstance));
        for (var start = 0; start < pairs; start += perChunk)
        {
            var end = Math.Min(pairs, start + perChunk);
            for (var attempt = 0; ; attempt++)
            {
                var (conditions, operations) = await PlanChunkAsync(added, removed, start, end, cancellationToken).ConfigureAwait(false);
                if (await CommitAsync(conditions, operations, cancellationToken).ConfigureAwait(false)) break;
                // A removed record changed between the read and the commit (a late report): read again. A missing
                // service or a taken id fails on the read itself.
                ThrowIfTooManyAttempts(attempt, "store a plan's instances");
            }
        }
    }

    private async Task<(List<KvCondition>, List<KvOperation>)> PlanChunkAsync(IReadOnlyList<ServiceInstance> added, IReadOnlyList<string> removed,
        int start, int end, CancellationToken cancellationToken)
    {
        // Reads in two batches (services, new ids and the owners of removed ids; then the removed records), not one
        // read per key: a zone's failover stores thousands of instances.
        var firstKeys = new List<string>();
        var at = new Dictionary<string, int>(StringComparer.Ordinal);
        void Want(List<string> keys, string key)
        {
            if (at.TryAdd(key, keys.Count)) keys.Add(key);
        }
        for (var i = start; i < end; i++)
        {
            if (i < added.Count)
            {
                Want(firstKeys, ServiceKey(added[i].Service));
                Want(firstKeys, InstanceIdKey(added[i].Id));
            }
            if (i < removed.Count && IsSegment(removed[i])) Want(firstKeys, InstanceIdKey(removed[i]));
        }
        var first = await _kv.GetManyAsync(firstKeys, cancellationToken).ConfigureAwait(false);
        var recordKeys = new List<string>();
        for (var i = start; i < end; i++)
            if (i < removed.Count && IsSegment(removed[i]) && first[at[InstanceIdKey(removed[i])]] is { } owner)
                recordKeys.Add(InstanceKey(owner.Value, removed[i]));
        var records = recordKeys.Count == 0 ? [] : await _kv.GetManyAsync(recordKeys, cancellationToken).ConfigureAwait(false);

        List<KvCondition> conditions = [];
        List<KvOperation> operations = [];
        var services = new HashSet<string>(StringComparer.Ordinal);
        var nextRecord = 0;
        for (var i = start; i < end; i++)
        {
            if (i < added.Count)
            {
                var instance = added[i];
                if (services.Add(instance.Service))
                {
                    var service = first[at[ServiceKey(instance.Service)]]
                        ?? throw new InvalidOperationException($"Instance '{instance.Id}' was not stored: service '{instance.Service}' does not exist.");
                    conditions.Add(KvCondition.Unchanged(service.Key, service));
                }
                if (first[at[InstanceIdKey(instance.Id)]] is not null)
                    throw new InvalidOperationException($"Instance id '{instance.Id}' is already used; the plan was not stored.");
                conditions.Add(KvCondition.Absent(InstanceIdKey(instance.Id)));
                operations.Add(KvOperation.Put(InstanceKey(instance.Service, instance.Id), ToJson(instance)));
                operations.Add(KvOperation.Put(InstanceIdKey(instance.Id), instance.Service));
                operations.Add(KvOperation.Put(NodeInstanceKey(instance.NodeId, instance.Id), instance.Service));
            }
            if (i < removed.Count && IsSegment(removed[i]))
            {
                var id = removed[i];
                var owner = first[at[InstanceIdKey(id)]];
                if (owner is null) continue; // Already gone: nothing to remove.
                conditions.Add(KvCondition.Unchanged(owner.Key, owner));
                operations.Add(KvOperation.Delete(owner.Key));
                operations.Add(KvOperation.DeletePrefix(LogsPrefix(id)));
                operations.Add(KvOperation.Delete(LogMetaKey(id)));
                var record = records[nextRecord++];
                if (record is null) continue;
                conditions.Add(KvCondition.Unchanged(record.Key, record));
                operations.Add(KvOperation.Delete(record.Key));
                operations.Add(KvOperation.Delete(NodeInstanceKey(FromJson<ServiceInstance>(record.Value).NodeId, id)));
            }
        }
        return (conditions, operations);
    }

    /// <inheritdoc />
    /// <remarks>In transactions of as many records as fit, each conditioned on its service and the records it replaces being unchanged.</remarks>
    public async Task UpsertInstancesAsync(IReadOnlyList<ServiceInstance> instances, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instances);
        foreach (var instance in instances)
        {
            ValidateSegment(instance.Id, "instance id");
            ValidateSegment(instance.NodeId, "node id");
            ValidateSegment(instance.Service, "service name");
        }
        await EnsureLayoutAsync(cancellationToken).ConfigureAwait(false);
        // Per instance: its service (1 condition), its record (1 condition, 1 put), and up to three index changes.
        var perChunk = Math.Max(1, (_options.MaxTransactionSize - 1) / 6);
        foreach (var chunk in instances.Chunk(perChunk))
        {
            for (var attempt = 0; ; attempt++)
            {
                List<KvCondition> conditions = [];
                List<KvOperation> operations = [];
                var services = new HashSet<string>(StringComparer.Ordinal);
                // Every service and record of the chunk in one batch read.
                var keys = chunk.Select(i => ServiceKey(i.Service)).Distinct(StringComparer.Ordinal).Concat(chunk.Select(i => InstanceKey(i.Service, i.Id))).ToList();
                var read = await _kv.GetManyAsync(keys, cancellationToken).ConfigureAwait(false);
                var found = new Dictionary<string, KvEntry?>(StringComparer.Ordinal);
                for (var k = 0; k < keys.Count; k++) found[keys[k]] = read[k];
                foreach (var instance in chunk)
                {
                    if (services.Add(instance.Service))
                    {
                        var service = found[ServiceKey(instance.Service)]
                            ?? throw new InvalidOperationException($"Instance '{instance.Id}' was not stored: service '{instance.Service}' does not exist.");
                        conditions.Add(KvCondition.Unchanged(service.Key, service));
                    }
                    var key = InstanceKey(instance.Service, instance.Id);
                    var existing = found[key];
                    conditions.Add(KvCondition.Unchanged(key, existing));
                    operations.Add(KvOperation.Put(key, ToJson(instance)));
                    var oldNode = existing is null ? null : FromJson<ServiceInstance>(existing.Value).NodeId;
                    if (existing is null) operations.Add(KvOperation.Put(InstanceIdKey(instance.Id), instance.Service));
                    if (oldNode == instance.NodeId) continue;
                    if (oldNode is not null) operations.Add(KvOperation.Delete(NodeInstanceKey(oldNode, instance.Id)));
                    operations.Add(KvOperation.Put(NodeInstanceKey(instance.NodeId, instance.Id), instance.Service));
                }
                if (await CommitAsync(conditions, operations, cancellationToken).ConfigureAwait(false)) break;
                ThrowIfTooManyAttempts(attempt, "store instances");
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>Sequences come from the event counter, advanced once per transaction for the events it holds.</remarks>
    public async Task<IReadOnlyList<ClusterEvent>> AppendEventsAsync(IReadOnlyList<ClusterEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        var stored = new List<ClusterEvent>(events.Count);
        // Per event a put and perhaps a trim; the counter and its condition, and the fence, once.
        var perChunk = Math.Max(1, (_options.MaxTransactionSize - 3) / 2);
        foreach (var chunk in events.Chunk(perChunk))
        {
            for (var attempt = 0; ; attempt++)
            {
                var counter = await _kv.GetAsync(EventCounterKey, cancellationToken).ConfigureAwait(false);
                var last = counter is null ? 0 : long.Parse(counter.Value, CultureInfo.InvariantCulture);
                var batch = chunk.Select((e, i) => e with { Sequence = last + 1 + i }).ToList();
                List<KvOperation> operations = [KvOperation.Put(EventCounterKey, batch[^1].Sequence.ToString(CultureInfo.InvariantCulture))];
                foreach (var e in batch)
                {
                    operations.Add(KvOperation.Put(EventKey(e.Sequence), ToJson(e)));
                    if (e.Sequence > _options.MaxEvents) operations.Add(KvOperation.Delete(EventKey(e.Sequence - _options.MaxEvents)));
                }
                if (await CommitAsync([KvCondition.Unchanged(EventCounterKey, counter)], operations, cancellationToken).ConfigureAwait(false))
                {
                    stored.AddRange(batch);
                    break;
                }
                ThrowIfTooManyAttempts(attempt, "append events");
            }
        }
        return stored;
    }
}
