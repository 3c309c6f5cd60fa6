using VirtualCluster.Store;

namespace VirtualCluster.Membership.ClusterState;

// Services and their instances.
public sealed partial class KvClusterStore
{
    private string ServiceKey(string name) => $"{_p}services/{name}";
    private string InstancesPrefix(string service) => $"{_p}instances/{service}/";
    private string InstanceKey(string service, string id) => $"{_p}instances/{service}/{id}";

    /// <inheritdoc />
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
        }
        cancellationToken.ThrowIfCancellationRequested();

        for (var attempt = 0; ; attempt++)
        {
            if (await _kv.GetAsync(ServiceKey(name), cancellationToken).ConfigureAwait(false) is not null) return false;
            var used = (await _kv.ListAsync($"{_p}instances/", cancellationToken).ConfigureAwait(false)).Entries
                .Select(e => e.Key[(e.Key.LastIndexOf('/') + 1)..]).ToHashSet(StringComparer.Ordinal);
            if (instances.FirstOrDefault(i => used.Contains(i.Id)) is { } taken)
                throw new InvalidOperationException($"Instance id '{taken.Id}' is already used; service '{name}' was not stored.");

            List<KvCondition> conditions = [KvCondition.Absent(ServiceKey(name))];
            List<KvOperation> operations = [KvOperation.Put(ServiceKey(name), ToJson(service))];
            foreach (var instance in instances)
            {
                conditions.Add(KvCondition.Absent(InstanceKey(name, instance.Id)));
                operations.Add(KvOperation.Put(InstanceKey(name, instance.Id), ToJson(instance)));
            }
            if (await CommitAsync(conditions, operations, cancellationToken).ConfigureAwait(false)) return true;
            ThrowIfTooManyAttempts(attempt, "create service " + name);
        }
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
    /// <remarks>Also deletes the stored logs of its instances, in the same transaction.</remarks>
    public async Task<bool> DeleteServiceAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!IsSegment(name)) return false;
        for (var attempt = 0; ; attempt++)
        {
            var service = await _kv.GetAsync(ServiceKey(name), cancellationToken).ConfigureAwait(false);
            if (service is null) return false;
            var instances = (await _kv.ListAsync(InstancesPrefix(name), cancellationToken).ConfigureAwait(false)).Entries;
            List<KvOperation> operations = [KvOperation.Delete(ServiceKey(name)), KvOperation.DeletePrefix(InstancesPrefix(name))];
            foreach (var instance in instances)
            {
                var id = instance.Key[InstancesPrefix(name).Length..];
                operations.Add(KvOperation.DeletePrefix(LogsPrefix(id)));
                operations.Add(KvOperation.Delete(LogMetaKey(id)));
            }
            if (await CommitAsync([KvCondition.Unchanged(ServiceKey(name), service)], operations, cancellationToken).ConfigureAwait(false)) return true;
            ThrowIfTooManyAttempts(attempt, "delete service " + name);
        }
    }

    /// <inheritdoc />
    /// <remarks>Ordered by id.</remarks>
    public async Task<IReadOnlyList<ServiceInstance>> ListInstancesAsync(string? service = null, string? nodeId = null, CancellationToken cancellationToken = default)
    {
        if (service is not null && !IsSegment(service)) return [];
        var prefix = service is null ? $"{_p}instances/" : InstancesPrefix(service);
        var page = await _kv.ListAsync(prefix, cancellationToken).ConfigureAwait(false);
        return page.Entries.Select(e => FromJson<ServiceInstance>(e.Value))
            .Where(i => nodeId is null || i.NodeId == nodeId)
            .OrderBy(i => i.Id, StringComparer.Ordinal).ToList();
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">Its service does not exist (for example it was deleted meanwhile).</exception>
    public async Task UpsertInstanceAsync(ServiceInstance instance, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ValidateSegment(instance.Id, "instance id");
        for (var attempt = 0; ; attempt++)
        {
            var service = IsSegment(instance.Service) ? await _kv.GetAsync(ServiceKey(instance.Service), cancellationToken).ConfigureAwait(false) : null;
            if (service is null)
                throw new InvalidOperationException($"Instance '{instance.Id}' was not stored: service '{instance.Service}' does not exist.");
            if (await CommitAsync([KvCondition.Unchanged(service.Key, service)],
                    [KvOperation.Put(InstanceKey(instance.Service, instance.Id), ToJson(instance))], cancellationToken).ConfigureAwait(false))
                return;
            ThrowIfTooManyAttempts(attempt, "store instance " + instance.Id);
        }
    }

    /// <inheritdoc />
    /// <remarks>Also deletes its stored logs.</remarks>
    public async Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        if (!IsSegment(instanceId)) return;
        var page = await _kv.ListAsync($"{_p}instances/", cancellationToken).ConfigureAwait(false);
        List<KvOperation> operations = [KvOperation.DeletePrefix(LogsPrefix(instanceId)), KvOperation.Delete(LogMetaKey(instanceId))];
        operations.AddRange(page.Entries.Where(e => e.Key.EndsWith("/" + instanceId, StringComparison.Ordinal)).Select(e => KvOperation.Delete(e.Key)));
        await CommitAsync([], operations, cancellationToken).ConfigureAwait(false);
    }

    private static bool IsSegment(string value) => value.Length > 0 && !value.Contains('/', StringComparison.Ordinal);

    private static void ValidateSegment(string value, string what)
    {
        ArgumentNullException.ThrowIfNull(value, what);
        if (!IsSegment(value)) throw new ArgumentException($"The {what} \"{value}\" must be non-empty and must not contain '/'.", what);
    }
}
