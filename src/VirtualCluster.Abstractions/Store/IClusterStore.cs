using VirtualCluster.Runtime;

namespace VirtualCluster.Store;

/// <summary>
/// Durable desired and observed state of the cluster, owned by the control plane.
/// Every method is atomic on its own; <see cref="CreateServiceAsync"/> stores a service and all its
/// instances in one transaction or not at all. Epochs from <see cref="NextEpochAsync"/> are strictly
/// increasing and never reused, even across restarts.
/// </summary>
public interface IClusterStore
{
    /// <summary>Adds or replaces a node by id.</summary>
    Task UpsertNodeAsync(NodeInfo node, CancellationToken cancellationToken = default);

    /// <summary>Every registered node.</summary>
    Task<IReadOnlyList<NodeInfo>> ListNodesAsync(CancellationToken cancellationToken = default);

    /// <summary>A node by id or name, or null.</summary>
    Task<NodeInfo?> FindNodeAsync(string idOrName, CancellationToken cancellationToken = default);

    /// <summary>Stores a new service and its first instances atomically. Returns false (and stores nothing) when the name exists.</summary>
    Task<bool> CreateServiceAsync(ServiceRecord service, IReadOnlyList<ServiceInstance> instances, CancellationToken cancellationToken = default);

    /// <summary>A service by name, or null.</summary>
    Task<ServiceRecord?> GetServiceAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Every service.</summary>
    Task<IReadOnlyList<ServiceRecord>> ListServicesAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes a service and its instances. Returns false when it did not exist.</summary>
    Task<bool> DeleteServiceAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Instances, optionally only of one service or one node.</summary>
    Task<IReadOnlyList<ServiceInstance>> ListInstancesAsync(string? service = null, string? nodeId = null, CancellationToken cancellationToken = default);

    /// <summary>Adds or replaces an instance by id.</summary>
    Task UpsertInstanceAsync(ServiceInstance instance, CancellationToken cancellationToken = default);

    /// <summary>Removes an instance; no-op when unknown.</summary>
    Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken = default);

    /// <summary>Reserves the next fencing epoch.</summary>
    Task<long> NextEpochAsync(CancellationToken cancellationToken = default);

    /// <summary>Appends an event and returns it with its sequence.</summary>
    Task<ClusterEvent> AppendEventAsync(ClusterEvent clusterEvent, CancellationToken cancellationToken = default);

    /// <summary>Events after <paramref name="afterSequence"/>, oldest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<ClusterEvent>> ListEventsAsync(long afterSequence, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Events matching <paramref name="query"/> (see <see cref="EventQuery.Matches"/>) with a sequence above
    /// <see cref="EventQuery.AfterSequence"/>, oldest first, at most <see cref="EventQuery.Limit"/>.
    /// The default implementation pages through <see cref="ListEventsAsync(long, int, CancellationToken)"/> and filters;
    /// stores that can filter where the data lives should override it.
    /// </summary>
    async Task<IReadOnlyList<ClusterEvent>> QueryEventsAsync(EventQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var result = new List<ClusterEvent>();
        var after = query.AfterSequence;
        while (result.Count < query.Limit)
        {
            var page = await ListEventsAsync(after, 1_000, cancellationToken).ConfigureAwait(false);
            if (page.Count == 0) break;
            result.AddRange(page.Where(query.Matches).Take(query.Limit - result.Count));
            after = page[^1].Sequence;
        }
        return result;
    }

    /// <summary>Stores log lines of an instance (lines already stored, by sequence, are ignored). Keeps the newest lines per instance up to a bound.</summary>
    Task AppendLogsAsync(string instanceId, IReadOnlyList<LogLine> lines, CancellationToken cancellationToken = default);

    /// <summary>Stored log lines of an instance after <paramref name="afterSequence"/>, oldest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<LogLine>> ReadLogsAsync(string instanceId, long afterSequence, int limit, CancellationToken cancellationToken = default);

    /// <summary>Highest log sequence stored for an instance (0 when none).</summary>
    Task<long> LastLogSequenceAsync(string instanceId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reserves <paramref name="count"/> fencing epochs at once, each greater than every epoch reserved before.
    /// The default reserves them one by one; stores that can reserve a range in one write should override it.
    /// </summary>
    async Task<IReadOnlyList<long>> NextEpochsAsync(int count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var epochs = new long[count];
        for (var i = 0; i < count; i++) epochs[i] = await NextEpochAsync(cancellationToken).ConfigureAwait(false);
        return epochs;
    }

    /// <summary>
    /// Stores <paramref name="added"/> instances (new ids of existing services) and deletes the instances named in
    /// <paramref name="removed"/>, as one plan. Stores may split it into several transactions, but keep an added
    /// instance and the removal listed at the same position together, so a replacement and the record it replaces
    /// change at once. The default writes them one by one.
    /// </summary>
    /// <exception cref="InvalidOperationException">A service of an added instance does not exist, or an id is taken.</exception>
    async Task CommitInstancesAsync(IReadOnlyList<ServiceInstance> added, IReadOnlyList<string> removed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(added);
        ArgumentNullException.ThrowIfNull(removed);
        for (var i = 0; i < Math.Max(added.Count, removed.Count); i++)
        {
            if (i < added.Count) await UpsertInstanceAsync(added[i], cancellationToken).ConfigureAwait(false);
            if (i < removed.Count) await DeleteInstanceAsync(removed[i], cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Adds or replaces several instances (changes of state, such as a node's instances marked lost). Stores may
    /// split it into several transactions. The default writes them one by one.
    /// </summary>
    /// <exception cref="InvalidOperationException">The service of an instance does not exist.</exception>
    async Task UpsertInstancesAsync(IReadOnlyList<ServiceInstance> instances, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instances);
        foreach (var instance in instances) await UpsertInstanceAsync(instance, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Appends several events in order and returns them with their sequences. The default appends them one by one.</summary>
    async Task<IReadOnlyList<ClusterEvent>> AppendEventsAsync(IReadOnlyList<ClusterEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        var stored = new List<ClusterEvent>(events.Count);
        foreach (var e in events) stored.Add(await AppendEventAsync(e, cancellationToken).ConfigureAwait(false));
        return stored;
    }

    /// <summary>A small value by key (signing keys, cluster id), or null.</summary>
    Task<string?> GetSettingAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Sets a value only if the key is absent; returns the value now stored.</summary>
    Task<string> GetOrAddSettingAsync(string key, string value, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets a value only if the key still holds <paramref name="expected"/> (null: only if it is absent); true when
    /// written. Read-modify-write of a small document (the user directory) without losing a concurrent change.
    /// </summary>
    Task<bool> ReplaceSettingAsync(string key, string? expected, string value, CancellationToken cancellationToken = default);
}
