using VirtualCluster.Store;

namespace VirtualCluster.Membership.ClusterState;

// Services and their instances: a deploy written in chunks and made visible by its service record, committed last.
public sealed partial class KvClusterStore
{
    // Per instance of a deploy: the id must be free (1 condition), then the record and its two index entries (3 puts).
    private const int OpsPerNewInstance = 4;
    // Per instance of a deleted service: two index entries, its log batches and its log cursor.
    private const int OpsPerDeletedInstance = 4;

    private string ServiceKey(string name) => $"{_p}services/{name}";
    private string InstancesPrefix(string service) => $"{_p}instances/{service}/";
    private string InstanceKey(string service, string id) => $"{_p}instances/{service}/{id}";
    private string InstanceIdKey(string id) => $"{_p}instance-ids/{id}";
    private string NodeInstancesPrefix(string nodeId) => $"{_p}node-instances/{nodeId}/";
    private string NodeInstanceKey(string nodeId, string id) => $"{_p}node-instances/{nodeId}/{id}";
    private string PendingKey(string service) => $"{_p}pending/{service}";
    private string GarbagePrefix => $"{_p}garbage/";

    /// <inheritdoc />
    /// <remarks>
    /// Instances are written in chunks that fit any provider's transaction limit, under <c>pending/{name}</c>;
    /// the service record, committed last and alone, makes them visible (readers skip instances whose service
    /// record is absent). A deploy interrupted part-way is cleaned up by the next create or delete of that name.
    /// </remarks>
    /// <exception cref="ArgumentException">An instance names another service.</exception>
    /// <exception cref="InvalidOperationException">An instance id is already used (nothing is stored).</exception>
    public async Task<bool> CreateServiceAsync(ServiceRecord service, IReadOnlyList<ServiceInstance> instances, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(instances);
        var name = service.Spec.Name;
        ValidateSegment(name, "service name");
        foreach (var instance in instances)
        {
            if (instance.Service != name)
                throw new ArgumentException($"Instance '{instance.Id}' belongs to service '{instance.Service}', not '{name}'.", nameof(instances));
            ValidateSegment(instance.Id, "instance id");
            ValidateSegment(instance.NodeId, "node id");
        }
        if (instances.Select(i => i.Id).Distinct(StringComparer.Ordinal).Count() != instances.Count)
            throw new InvalidOperationException($"Two instances share an id; service '{name}' was not stored.");
        await EnsureLayoutAsync(cancellationToken).ConfigureAwait(false);

        await _serviceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (await _kv.GetAsync(ServiceKey(name), cancellationToken).ConfigureAwait(false) is not null) return false;
            // Under the gate no deploy of this process is under way, so a pending record is one a crash interrupted.
            await AbandonPendingAsync(name, cancellationToken).ConfigureAwait(false);
            var token = Guid.NewGuid().ToString("N");
            if (!await CommitAsync([KvCondition.Absent(ServiceKey(name)), KvCondition.Absent(PendingKey(name))],
                    [KvOperation.Put(PendingKey(name), token)], cancellationToken).ConfigureAwait(false))
                return false; // Created meanwhile by another writer.
            var pending = await _kv.GetAsync(PendingKey(name), cancellationToken).ConfigureAwait(false);

            var perChunk = Math.Max(1, (_options.MaxTransactionSize - 2) / OpsPerNewInstance);
            foreach (var chunk in instances.Chunk(perChunk))
            {
                List<KvCondition> conditions = [KvCondition.Unchanged(PendingKey(name), pending)];
                List<KvOperation> operations = [];
                foreach (var instance in chunk)
                {
                    conditions.Add(KvCondition.Absent(InstanceIdKey(instance.Id)));
                    operations.Add(KvOperation.Put(InstanceKey(name, instance.Id), ToJson(instance)));
                    operations.Add(KvOperation.Put(InstanceIdKey(instance.Id), name));
                    operations.Add(KvOperation.Put(NodeInstanceKey(instance.NodeId, instance.Id), name));
                }
                if (await CommitAsync(conditions, operations, cancellationToken).ConfigureAwait(false)) continue;
                await AbandonPendingAsync(name, cancellationToken).ConfigureAwait(false);
                foreach (var instance in chunk)
                {
                    if (await _kv.GetAsync(InstanceIdKey(instance.Id), cancellationToken).ConfigureAwait(false) is not null)
                        throw new InvalidOperationException($"Instance id '{instance.Id}' is already used; service '{name}' was not stored.");
                }
                throw new InvalidOperationException($"Service '{name}' was not stored: its pending deploy was changed by another writer.");
            }

            if (await CommitAsync([KvCondition.Unchanged(PendingKey(name), pending), KvCondition.Absent(ServiceKey(name))],
                    [KvOperation.Put(ServiceKey(name), ToJson(service)), KvOperation.Delete(PendingKey(name))], cancellationToken).ConfigureAwait(false))
                return true;
            await AbandonPendingAsync(name, cancellationToken).ConfigureAwait(false);
            return false;
        }
        finally
        {
            _serviceGate.Release();
        }
    }

    /// <summary>Removes a deploy of <paramref name="name"/> that never committed: its instances and their index entries.</summary>
    private async Task AbandonPendingAsync(string name, CancellationToken cancellationToken)
    {
        var pending = await _kv.GetAsync(PendingKey(name), cancellationToken).ConfigureAwait(false);
        if (pending is null) return;
        // Only a service without a record has pending instances: a committed one's are live.
        if (await _kv.GetAsync(ServiceKey(name), cancellationToken).ConfigureAwait(false) is not null)
        {
            await CommitAsync([KvCondition.Unchanged(PendingKey(name), pending)], [KvOperation.Delete(PendingKey(name))], cancellationToken).ConfigureAwait(false);
            return;
        }
        var written = (await _kv.ListAsync(InstancesPrefix(name), cancellationToken).ConfigureAwait(false)).Entries
            .Select(e => FromJson<ServiceInstance>(e.Value)).ToList();
        await DeleteIndexesAsync(written, cancellationToken).ConfigureAwait(false);
        await CommitAsync([KvCondition.Unchanged(PendingKey(name), pending), KvCondition.Absent(ServiceKey(name))],
            [KvOperation.DeletePrefix(InstancesPrefix(name)), KvOperation.Delete(PendingKey(name))], cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<ServiceRecord?> GetServiceAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!IsSegment(name)) return null;
        var entry = await _kv.GetAsync(ServiceKey(name), cancellationToken).ConfigureAwait(false);
        return entry is null ? null : FromJson<ServiceRecord>(entry.Value);
    }

    /// <inheritdoc />
    /// <remarks>Ordered by name.</remarks>
    public async Task<IReadOnlyList<ServiceRecord>> ListServicesAsync(CancellationToken cancellationToken = default)
    {
        var page = await _kv.ListAsync($"{_p}services/", cancellationToken).ConfigureAwait(false);
        return page.Entries.Select(e => FromJson<ServiceRecord>(e.Value)).OrderBy(s => s.Spec.Name, StringComparer.Ordinal).ToList();
    }

    /// <inheritdoc />
    /// <remarks>
    /// One transaction removes the service record and every instance record (a prefix delete), so readers see the
    /// service whole or not at all; the index entries and logs of its instances follow in chunks, from a
    /// <c>garbage/</c> record that a later delete finishes if this one is interrupted.
    /// </remarks>
    public async Task<bool> DeleteServiceAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!IsSegment(name)) return false;
        await EnsureLayoutAsync(cancellationToken).ConfigureAwait(false);
        await _serviceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                var service = await _kv.GetAsync(ServiceKey(name), cancellationToken).ConfigureAwait(false);
                if (service is null) return false;
                var page = await _kv.ListAsync(InstancesPrefix(name), cancellationToken).ConfigureAwait(false);
                var garbage = page.Entries.Select(e => FromJson<ServiceInstance>(e.Value)).Select(i => new InstanceRef(i.Id, i.NodeId)).ToList();
                var garbageKey = GarbagePrefix + name + "/" + Guid.NewGuid().ToString("N");
                // Conditioned on the service record only: a condition per instance would break the transaction limit.
                // An instance written between the list and this commit (the control plane places under one lock, so
                // only another writer could) would leave index entries behind, which readers ignore: records decide.
                List<KvOperation> operations = [KvOperation.Delete(ServiceKey(name)), KvOperation.DeletePrefix(InstancesPrefix(name)), KvOperation.Put(garbageKey, ToJson(garbage))];
                if (await CommitAsync([KvCondition.Unchanged(ServiceKey(name), service)], operations, cancellationToken).ConfigureAwait(false)) break;
                ThrowIfTooManyAttempts(attempt, "delete service " + name);
            }
            await CollectGarbageAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        finally
        {
            _serviceGate.Release();
        }
    }

    /// <summary>Finishes the chunked parts of service deletes: index entries and logs of their instances.</summary>
    private async Task CollectGarbageAsync(CancellationToken cancellationToken)
    {
        var records = (await _kv.ListAsync(GarbagePrefix, cancellationToken).ConfigureAwait(false)).Entries;
        foreach (var record in records)
        {
            var instances = FromJson<List<InstanceRef>>(record.Value);
            var perChunk = Math.Max(1, (_options.MaxTransactionSize - 1) / OpsPerDeletedInstance);
            foreach (var chunk in instances.Chunk(perChunk))
            {
                List<KvOperation> operations = [];
                foreach (var instance in chunk)
                {
                    operations.Add(KvOperation.Delete(InstanceIdKey(instance.Id)));
                    operations.Add(KvOperation.Delete(NodeInstanceKey(instance.NodeId, instance.Id)));
                    operations.Add(KvOperation.DeletePrefix(LogsPrefix(instance.Id)));
                    operations.Add(KvOperation.Delete(LogMetaKey(instance.Id)));
                }
                await CommitAsync([], operations, cancellationToken).ConfigureAwait(false);
            }
            await CommitAsync([], [KvOperation.Delete(record.Key)], cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes the id and node index entries of <paramref name="instances"/>, in chunks.</summary>
    private async Task DeleteIndexesAsync(IReadOnlyList<ServiceInstance> instances, CancellationToken cancellationToken)
    {
        foreach (var chunk in instances.Chunk(Math.Max(1, (_options.MaxTransactionSize - 1) / 2)))
        {
            var operations = chunk.SelectMany(i => new[] { KvOperation.Delete(InstanceIdKey(i.Id)), KvOperation.Delete(NodeInstanceKey(i.NodeId, i.Id)) }).ToList();
            await CommitAsync([], operations, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Ordered by id. Only instances of committed services (a service record exists). With a node, reads that
    /// node's index entries and then each record; otherwise lists the records under the service or all of them.
    /// </remarks>
    public async Task<IReadOnlyList<ServiceInstance>> ListInstancesAsync(string? service = null, string? nodeId = null, CancellationToken cancellationToken = default)
    {
        if (service is not null && !IsSegment(service)) return [];
        if (nodeId is not null && !IsSegment(nodeId)) return [];
        await EnsureLayoutAsync(cancellationToken).ConfigureAwait(false);
        List<ServiceInstance> found;
        if (nodeId is not null)
        {
            found = [];
            var index = await _kv.ListAsync(NodeInstancesPrefix(nodeId), cancellationToken).ConfigureAwait(false);
            foreach (var entry in index.Entries)
            {
                if (service is not null && entry.Value != service) continue;
                var id = entry.Key[NodeInstancesPrefix(nodeId).Length..];
                var record = await _kv.GetAsync(InstanceKey(entry.Value, id), cancellationToken).ConfigureAwait(false);
                // An index entry can outlive its record for a moment (a delete's chunked clean-up): the record decides.
                if (record is not null && FromJson<ServiceInstance>(record.Value) is { } instance && instance.NodeId == nodeId) found.Add(instance);
            }
        }
        else
        {
            var prefix = service is null ? $"{_p}instances/" : InstancesPrefix(service);
            found = (await _kv.ListAsync(prefix, cancellationToken).ConfigureAwait(false)).Entries.Select(e => FromJson<ServiceInstance>(e.Value)).ToList();
        }
        if (found.Count == 0) return found;
        // Services are read after instances: a deploy committed in between only hides its new instances for one read,
        // and a service deleted in between hides its instances, as it should.
        var committed = (await _kv.ListAsync($"{_p}services/", cancellationToken).ConfigureAwait(false)).Entries
            .Select(e => e.Key[$"{_p}services/".Length..]).ToHashSet(StringComparer.Ordinal);
        return found.Where(i => committed.Contains(i.Service)).OrderBy(i => i.Id, StringComparer.Ordinal).ToList();
    }

    /// <inheritdoc />
    /// <remarks>Keeps the id and node index entries in the same transaction.</remarks>
    /// <exception cref="InvalidOperationException">Its service does not exist (for example it was deleted meanwhile).</exception>
    public async Task UpsertInstanceAsync(ServiceInstance instance, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ValidateSegment(instance.Id, "instance id");
        ValidateSegment(instance.NodeId, "node id");
        await EnsureLayoutAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var service = IsSegment(instance.Service) ? await _kv.GetAsync(ServiceKey(instance.Service), cancellationToken).ConfigureAwait(false) : null;
            if (service is null)
                throw new InvalidOperationException($"Instance '{instance.Id}' was not stored: service '{instance.Service}' does not exist.");
            var key = InstanceKey(instance.Service, instance.Id);
            var existing = await _kv.GetAsync(key, cancellationToken).ConfigureAwait(false);
            List<KvOperation> operations = [KvOperation.Put(key, ToJson(instance))];
            var oldNode = existing is null ? null : FromJson<ServiceInstance>(existing.Value).NodeId;
            if (existing is null) operations.Add(KvOperation.Put(InstanceIdKey(instance.Id), instance.Service));
            if (oldNode != instance.NodeId)
            {
                if (oldNode is not null) operations.Add(KvOperation.Delete(NodeInstanceKey(oldNode, instance.Id)));
                operations.Add(KvOperation.Put(NodeInstanceKey(instance.NodeId, instance.Id), instance.Service));
            }
            if (await CommitAsync([KvCondition.Unchanged(service.Key, service), KvCondition.Unchanged(key, existing)], operations, cancellationToken).ConfigureAwait(false))
                return;
            ThrowIfTooManyAttempts(attempt, "store instance " + instance.Id);
        }
    }

    /// <inheritdoc />
    /// <remarks>Also deletes its stored logs and index entries; finds it through the id index.</remarks>
    public async Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        if (!IsSegment(instanceId)) return;
        await EnsureLayoutAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            List<KvOperation> operations = [KvOperation.DeletePrefix(LogsPrefix(instanceId)), KvOperation.Delete(LogMetaKey(instanceId)), KvOperation.Delete(InstanceIdKey(instanceId))];
            var owner = await _kv.GetAsync(InstanceIdKey(instanceId), cancellationToken).ConfigureAwait(false);
            KvEntry? record = null;
            if (owner is not null && (record = await _kv.GetAsync(InstanceKey(owner.Value, instanceId), cancellationToken).ConfigureAwait(false)) is not null)
            {
                operations.Add(KvOperation.Delete(record.Key));
                operations.Add(KvOperation.Delete(NodeInstanceKey(FromJson<ServiceInstance>(record.Value).NodeId, instanceId)));
            }
            List<KvCondition> conditions = owner is null ? [] : [KvCondition.Unchanged(owner.Key, owner)];
            if (record is not null) conditions.Add(KvCondition.Unchanged(record.Key, record));
            if (await CommitAsync(conditions, operations, cancellationToken).ConfigureAwait(false)) return;
            ThrowIfTooManyAttempts(attempt, "delete instance " + instanceId);
        }
    }

    private static bool IsSegment(string value) => value.Length > 0 && !value.Contains('/', StringComparison.Ordinal);

    private static void ValidateSegment(string value, string what)
    {
        ArgumentNullException.ThrowIfNull(value, what);
        if (!IsSegment(value)) throw new ArgumentException($"The {what} \"{value}\" must be non-empty and must not contain '/'.", what);
    }

    private sealed record InstanceRef(string Id, string NodeId);
}
