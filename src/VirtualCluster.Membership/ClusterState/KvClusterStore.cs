using System.Globalization;
using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.ClusterState;

/// <summary>Settings of <see cref="KvClusterStore"/>.</summary>
public sealed class KvClusterStoreOptions
{
    /// <summary>Key prefix of every record. Default "cluster/".</summary>
    public string Prefix { get; set; } = "cluster/";

    /// <summary>Log lines kept per instance (about; whole batches are dropped). Default 2000. At least 1.</summary>
    public int MaxLogLinesPerInstance { get; set; } = 2000;

    /// <summary>Events kept; older ones are deleted as new ones arrive. Default 10000. At least 1.</summary>
    public int MaxEvents { get; set; } = 10_000;

    /// <summary>
    /// Conditions and operations per store transaction, the leadership fence included; larger changes (a deploy of
    /// many replicas, a service delete) are split into several. Default 32, within every provider's limit (the
    /// Consul provider takes 40, etcd and the embedded store 128). At least 8.
    /// </summary>
    public int MaxTransactionSize { get; set; } = 32;
}

/// <summary>
/// <see cref="IClusterStore"/> on any <see cref="IKeyValueStore"/> (etcd, Consul, the embedded store): records
/// are JSON values under <see cref="KvClusterStoreOptions.Prefix"/>, every change is one store transaction, and
/// with a <see cref="LeadershipFence"/> every write except settings is fenced, so only the current leader's
/// writes apply (others throw <see cref="NotLeaderException"/>).
/// </summary>
/// <remarks>
/// <para>Layout: <c>nodes/{id}</c>, <c>node-names/{name}</c> (unique names), <c>services/{name}</c>,
/// <c>instances/{service}/{id}</c> with the indexes <c>instance-ids/{id}</c> and <c>node-instances/{node}/{id}</c>
/// (both hold the service name), <c>pending/{service}</c> (a deploy not yet committed), <c>garbage/{service}/{token}</c>
/// (what a service delete still has to clean up), <c>layout</c> (the layout version), <c>epoch-floor</c>, <c>events/{seq}</c> with the counter <c>counters/events</c>,
/// <c>logs/{instance}/{first seq}</c> (a batch of lines) with <c>log-meta/{instance}</c>, <c>settings/{key}</c>,
/// and <c>epoch</c>, whose write revision is the epoch: epochs are store revisions, so they increase across
/// restarts and across leaders.</para>
/// <para>Read-modify-write operations are optimistic: they read, then commit on the condition that what they
/// read is unchanged, and retry on conflict. Settings are written unfenced, with create-if-absent, so every
/// control plane agrees on the first value whether or not it leads.</para>
/// </remarks>
public sealed partial class KvClusterStore : IClusterStore
{
    private const int MaxAttempts = 200;
    private readonly IKeyValueStore _kv;
    private readonly LeadershipFence? _fence;
    private readonly KvClusterStoreOptions _options;
    private readonly string _p;
    private readonly SemaphoreSlim _serviceGate = new(1, 1);
    private readonly SemaphoreSlim _layoutGate = new(1, 1);
    private volatile bool _layoutReady;

    /// <summary>The store on <paramref name="kv"/>; writes fenced by <paramref name="fence"/> when given.</summary>
    public KvClusterStore(IKeyValueStore kv, LeadershipFence? fence = null, KvClusterStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(kv);
        _kv = kv;
        _fence = fence;
        _options = options ?? new KvClusterStoreOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxLogLinesPerInstance, 1, "options.MaxLogLinesPerInstance");
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxEvents, 1, "options.MaxEvents");
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxTransactionSize, 8, "options.MaxTransactionSize");
        ArgumentNullException.ThrowIfNull(_options.Prefix, "options.Prefix");
        _p = _options.Prefix;
    }

    private string NodeKey(string id) => $"{_p}nodes/{id}";
    private string NodeNameKey(string name) => $"{_p}node-names/{name}";
    private string SettingKey(string key) => $"{_p}settings/{key}";

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">Another node (other id) already has this name.</exception>
    public async Task UpsertNodeAsync(NodeInfo node, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(node);
        for (var attempt = 0; ; attempt++)
        {
            var existing = await _kv.GetAsync(NodeKey(node.Id), cancellationToken).ConfigureAwait(false);
            var owner = await _kv.GetAsync(NodeNameKey(node.Name), cancellationToken).ConfigureAwait(false);
            if (owner is not null && owner.Value != node.Id)
                throw new InvalidOperationException($"Another node is already named '{node.Name}'; node names must be unique.");
            List<KvCondition> conditions = [KvCondition.Unchanged(NodeKey(node.Id), existing), KvCondition.Unchanged(NodeNameKey(node.Name), owner)];
            List<KvOperation> operations = [KvOperation.Put(NodeKey(node.Id), ToJson(node))];
            if (owner is null) operations.Add(KvOperation.Put(NodeNameKey(node.Name), node.Id));
            if (existing is not null && FromJson<NodeInfo>(existing.Value).Name is var oldName && oldName != node.Name)
            {
                var oldOwner = await _kv.GetAsync(NodeNameKey(oldName), cancellationToken).ConfigureAwait(false);
                if (oldOwner?.Value == node.Id)
                {
                    conditions.Add(KvCondition.Unchanged(NodeNameKey(oldName), oldOwner));
                    operations.Add(KvOperation.Delete(NodeNameKey(oldName)));
                }
            }
            if (await CommitAsync(conditions, operations, cancellationToken).ConfigureAwait(false)) return;
            ThrowIfTooManyAttempts(attempt, "upsert node " + node.Id);
        }
    }

    /// <inheritdoc />
    /// <remarks>Ordered by name.</remarks>
    public async Task<IReadOnlyList<NodeInfo>> ListNodesAsync(CancellationToken cancellationToken = default)
    {
        var page = await _kv.ListAsync($"{_p}nodes/", cancellationToken).ConfigureAwait(false);
        return page.Entries.Select(e => FromJson<NodeInfo>(e.Value)).OrderBy(n => n.Name, StringComparer.Ordinal).ToList();
    }

    /// <inheritdoc />
    /// <remarks>An id match wins over a name match.</remarks>
    public async Task<NodeInfo?> FindNodeAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(idOrName);
        if (idOrName.Length == 0 || idOrName.Contains('/', StringComparison.Ordinal)) return null;
        var byId = await _kv.GetAsync(NodeKey(idOrName), cancellationToken).ConfigureAwait(false);
        if (byId is not null) return FromJson<NodeInfo>(byId.Value);
        var owner = await _kv.GetAsync(NodeNameKey(idOrName), cancellationToken).ConfigureAwait(false);
        if (owner is null) return null;
        var byName = await _kv.GetAsync(NodeKey(owner.Value), cancellationToken).ConfigureAwait(false);
        return byName is null ? null : FromJson<NodeInfo>(byName.Value);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The epoch is the store revision of a fenced write plus the epoch floor, so it is never reused, even by
    /// another leader. The floor (read fresh each time, never cached: another leader may have raised it) starts
    /// above the epochs of state migrated from an older store.
    /// </remarks>
    public async Task<long> NextEpochAsync(CancellationToken cancellationToken = default) =>
        (await NextEpochsAsync(1, cancellationToken).ConfigureAwait(false))[0];

    /// <inheritdoc />
    /// <remarks>
    /// One fenced write whose revision R, with the floor F, gives the epochs R+F .. R+F+count-1; the same write
    /// raises the floor by count-1, so every later write's R'+F' lies above them.
    /// </remarks>
    public async Task<IReadOnlyList<long>> NextEpochsAsync(int count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        cancellationToken.ThrowIfCancellationRequested();
        if (count == 0) return [];
        await EnsureLayoutAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var floorEntry = await _kv.GetAsync(EpochFloorKey, cancellationToken).ConfigureAwait(false);
            var floor = floorEntry is null ? 0 : long.Parse(floorEntry.Value, CultureInfo.InvariantCulture);
            List<KvOperation> operations = [KvOperation.Put($"{_p}epoch", "")];
            if (count > 1) operations.Add(KvOperation.Put(EpochFloorKey, (floor + count - 1).ToString(CultureInfo.InvariantCulture)));
            var revision = await CommitWithRevisionAsync([KvCondition.Unchanged(EpochFloorKey, floorEntry)], operations, cancellationToken).ConfigureAwait(false);
            if (revision is { } r)
            {
                var epochs = new long[count];
                for (var i = 0; i < count; i++) epochs[i] = r + floor + i;
                return epochs;
            }
            ThrowIfTooManyAttempts(attempt, "reserve epochs");
        }
    }

    /// <inheritdoc />
    public async Task<string?> GetSettingAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return (await _kv.GetAsync(SettingKey(key), cancellationToken).ConfigureAwait(false))?.Value;
    }

    /// <inheritdoc />
    /// <remarks>Not fenced, like the other settings: the compare-and-set keeps concurrent writers from losing changes.</remarks>
    public async Task<bool> ReplaceSettingAsync(string key, string? expected, string value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        var current = await _kv.GetAsync(SettingKey(key), cancellationToken).ConfigureAwait(false);
        if (current?.Value != expected) return false;
        var result = await _kv.CompareAndSetAsync(SettingKey(key), value, current?.ModRevision ?? 0, cancellationToken: cancellationToken).ConfigureAwait(false);
        return result.Succeeded;
    }

    /// <inheritdoc />
    /// <remarks>Not fenced: create-if-absent is safe from any control plane.</remarks>
    public async Task<string> GetOrAddSettingAsync(string key, string value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        for (var attempt = 0; ; attempt++)
        {
            var result = await _kv.CompareAndSetAsync(SettingKey(key), value, 0, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (result.Succeeded) return value;
            if (result.Current is not null) return result.Current.Value;
            ThrowIfTooManyAttempts(attempt, "add setting " + key);
        }
    }

    /// <summary>Commits with the fence added; true when applied, false on a conflict of the other conditions.</summary>
    /// <exception cref="NotLeaderException">Not the leader, or the leadership ended.</exception>
    private async Task<bool> CommitAsync(List<KvCondition> conditions, List<KvOperation> operations, CancellationToken cancellationToken) =>
        await CommitWithRevisionAsync(conditions, operations, cancellationToken).ConfigureAwait(false) is not null;

    private async Task<long?> CommitWithRevisionAsync(List<KvCondition> conditions, List<KvOperation> operations, CancellationToken cancellationToken)
    {
        var fence = _fence?.Condition();
        if (fence is not null) conditions = [.. conditions, fence];
        var result = await _kv.TransactAsync(conditions, operations, cancellationToken).ConfigureAwait(false);
        if (result.Succeeded) return result.Revision;
        if (fence is not null)
        {
            var current = await _kv.GetAsync(fence.Key, cancellationToken).ConfigureAwait(false);
            if (current?.ModRevision != fence.ModRevision)
                throw new NotLeaderException("This control plane's leadership ended (another control plane may lead now); the write was not applied.");
        }
        return null;
    }

    private static void ThrowIfTooManyAttempts(int attempt, string what)
    {
        if (attempt >= MaxAttempts)
            throw new InvalidOperationException($"Could not {what}: the records kept changing under it ({MaxAttempts} attempts).");
    }

    private static string Seq(long value) => value.ToString("D19", CultureInfo.InvariantCulture);

    private static string ToJson<T>(T value) => JsonSerializer.Serialize(value, VirtualClusterJson.Options);

    private static T FromJson<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, VirtualClusterJson.Options) ?? throw new InvalidDataException($"A stored {typeof(T).Name} record is empty.");
}
