using VirtualCluster.Membership;
using VirtualCluster.Store;

namespace VirtualCluster.Simulator.Engine;

/// <summary>
/// An <see cref="IKeyValueStore"/> in memory for one thread: revisions, conditional transactions (refused above
/// <see cref="MaxTransactionSize"/>, like etcd's default limit), prefix lists in key order and leases that never
/// expire. Every call completes at once, so the control plane's code runs synchronously on the simulator's thread.
/// </summary>
/// <remarks>Prefix lists are served from a sorted set of keys kept for every prefix that ends in '/'.</remarks>
internal sealed class MemoryKeyValueStore : IKeyValueStore
{
    /// <summary>Conditions plus operations per transaction, as etcd allows by default.</summary>
    public const int MaxTransactionSize = 128;

    private readonly Dictionary<string, KvEntry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<string>> _folders = new(StringComparer.Ordinal);
    private long _revision;
    private long _leases;

    /// <summary>Called for every key a transaction writes, in order (the simulator reads the event log from it).</summary>
    public Action<KvEntry>? Written { get; set; }

    /// <summary>Transactions applied so far.</summary>
    public long Transactions { get; private set; }

    /// <summary>Keys stored now.</summary>
    public int Count => _entries.Count;

    public Task<KvEntry?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        Task.FromResult(_entries.GetValueOrDefault(key));

    public Task<KvPage> ListAsync(string prefix, string? startKey = null, int limit = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        IEnumerable<string> keys = Folder(prefix);
        if (startKey is not null) keys = keys.Where(k => string.CompareOrdinal(k, startKey) >= 0);
        if (limit > 0) keys = keys.Take(limit);
        return Task.FromResult(new KvPage(keys.Select(k => _entries[k]).ToList(), _revision));
    }

    /// <summary>Keys under a prefix in ordinal order.</summary>
    private IEnumerable<string> Folder(string prefix)
    {
        if (prefix.EndsWith('/')) return _folders.TryGetValue(prefix, out var set) ? set : [];
        return _entries.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal);
    }

    public Task<KvTransactionResult> TransactAsync(IReadOnlyList<KvCondition> conditions, IReadOnlyList<KvOperation> operations, CancellationToken cancellationToken = default)
    {
        KvTransactionRules.Validate(conditions, operations, MaxTransactionSize);
        foreach (var condition in conditions)
        {
            var revision = _entries.TryGetValue(condition.Key, out var entry) ? entry.ModRevision : 0;
            if (revision != condition.ModRevision) return Task.FromResult(new KvTransactionResult(false, _revision));
        }
        _revision++;
        Transactions++;
        foreach (var operation in operations)
        {
            switch (operation.Kind)
            {
                case KvOperationKind.Put:
                    var created = _entries.TryGetValue(operation.Key, out var old) ? old.CreateRevision : _revision;
                    var entry = new KvEntry(operation.Key, operation.Value ?? "", created, _revision, operation.LeaseId);
                    if (old is null) Index(operation.Key);
                    _entries[operation.Key] = entry;
                    Written?.Invoke(entry);
                    break;
                case KvOperationKind.Delete:
                    Remove(operation.Key);
                    break;
                case KvOperationKind.DeletePrefix:
                    foreach (var key in Folder(operation.Key).ToList()) Remove(key);
                    break;
            }
        }
        return Task.FromResult(new KvTransactionResult(true, _revision));
    }

    private void Index(string key)
    {
        for (var i = key.IndexOf('/'); i >= 0; i = key.IndexOf('/', i + 1))
        {
            var folder = key[..(i + 1)];
            if (!_folders.TryGetValue(folder, out var set)) _folders[folder] = set = new SortedSet<string>(StringComparer.Ordinal);
            set.Add(key);
        }
    }

    private void Remove(string key)
    {
        if (!_entries.Remove(key)) return;
        for (var i = key.IndexOf('/'); i >= 0; i = key.IndexOf('/', i + 1))
        {
            var folder = key[..(i + 1)];
            if (_folders.TryGetValue(folder, out var set) && set.Remove(key) && set.Count == 0) _folders.Remove(folder);
        }
    }

    /// <summary>Keys under a folder prefix (ending in '/'), for tests that tamper with the store.</summary>
    internal IReadOnlyList<string> KeysUnder(string prefix) => Folder(prefix).ToList();

    /// <summary>Deletes a key outside any transaction, for tests that tamper with the store.</summary>
    internal void Forget(string key) => Remove(key);

    public IAsyncEnumerable<KvEvent> WatchAsync(string prefix, long afterRevision, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The simulator's store has no watch: the control plane keeps its state in memory and does not watch.");

    public Task<KvLease> GrantLeaseAsync(TimeSpan ttl, CancellationToken cancellationToken = default) =>
        Task.FromResult(new KvLease("lease-" + (++_leases).ToString(System.Globalization.CultureInfo.InvariantCulture), ttl));

    public Task<bool> KeepAliveAsync(string leaseId, CancellationToken cancellationToken = default) => Task.FromResult(true);

    public Task RevokeLeaseAsync(string leaseId, CancellationToken cancellationToken = default)
    {
        foreach (var key in _entries.Values.Where(e => e.LeaseId == leaseId).Select(e => e.Key).ToList()) Remove(key);
        return Task.CompletedTask;
    }
}
