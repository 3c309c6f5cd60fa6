namespace VirtualCluster.Store;

/// <summary>
/// A strongly consistent key-value store with revisions, transactions, watches and leases: the cluster-state
/// store of a highly available control plane. The embedded provider keeps it in SQLite; the etcd and Consul
/// providers map it onto their servers.
/// </summary>
/// <remarks>
/// <para><b>Keys and values.</b> Keys are non-empty strings relative to the provider's configured prefix, with
/// '/' as the separator by convention; values are UTF-8 text (JSON in practice). Key order is the byte order of
/// the keys' UTF-8 encoding (ordinal for ASCII keys).</para>
/// <para><b>Revisions.</b> The store has one revision counter. Every committed transaction that changes at least
/// one key gets a revision strictly greater than every earlier one; all of its changes carry that revision.
/// Revisions need not be consecutive (Consul's index also counts its other writes). An entry's
/// <see cref="KvEntry.ModRevision"/> is the revision of its last change and <see cref="KvEntry.CreateRevision"/>
/// the revision that created it since it last did not exist.</para>
/// <para><b>Atomicity.</b> <see cref="TransactAsync"/> evaluates every condition and applies every operation as
/// one atomic step: either all conditions hold and all operations take effect at one revision, or nothing
/// changes. Readers never see part of a transaction. A single <see cref="GetAsync"/> or <see cref="ListAsync"/>
/// reads one consistent snapshot, at least as new as every write that completed before it started.</para>
/// <para><b>Leases.</b> A key written with a lease is deleted by the store when the lease ends: revoked, or not
/// kept alive within its time to live. Every key of a lease disappears in one step, and watches see a
/// <see cref="KvEventKind.Delete"/> per key. A lease may end later than its TTL (providers round TTLs up to their
/// minimum and detect expiry on their own clock), never earlier than the TTL after the last successful
/// keep-alive. Writing with a lease that has ended fails with <see cref="KvLeaseNotFoundException"/>.</para>
/// <para><b>Failures.</b> Operations throw <see cref="KeyValueStoreUnavailableException"/> when the server cannot
/// be reached (after the provider's own retries); a write that throws it may or may not have been applied.
/// Canceled operations throw <see cref="OperationCanceledException"/>. Implementations are safe to use from many
/// threads.</para>
/// </remarks>
public interface IKeyValueStore
{
    /// <summary>The entry at <paramref name="key"/>, or null when it does not exist.</summary>
    Task<KvEntry?> GetAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// The entries at <paramref name="keys"/>, in the same order (null where a key does not exist). A provider may
    /// read them in one round trip and one snapshot; the default reads them one by one (each as new as
    /// <see cref="GetAsync"/> promises), so callers must not rely on one snapshot across keys.
    /// </summary>
    async Task<IReadOnlyList<KvEntry?>> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var entries = new KvEntry?[keys.Count];
        for (var i = 0; i < keys.Count; i++) entries[i] = await GetAsync(keys[i], cancellationToken).ConfigureAwait(false);
        return entries;
    }

    /// <summary>
    /// Entries whose key starts with <paramref name="prefix"/> (all entries for ""), in key order, from one
    /// snapshot, with that snapshot's revision. Start a watch at <see cref="KvPage.Revision"/> to follow the
    /// prefix from this state on without missing or repeating a change.
    /// </summary>
    /// <param name="prefix">Key prefix.</param>
    /// <param name="startKey">When set, only keys at or after this one (in key order).</param>
    /// <param name="limit">When positive, at most this many entries (the first ones in key order).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    Task<KvPage> ListAsync(string prefix, string? startKey = null, int limit = 0, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies <paramref name="operations"/> in order if every one of <paramref name="conditions"/> holds, all
    /// in one atomic step; otherwise changes nothing and returns <see cref="KvTransactionResult.Succeeded"/> false.
    /// Providers accept at least 60 operations and conditions together per transaction (Consul allows 64 in all).
    /// A transaction must not change the same key twice. A transaction whose operations change nothing still
    /// succeeds.
    /// </summary>
    /// <exception cref="KvLeaseNotFoundException">A put names a lease that does not exist or has ended; nothing was applied.</exception>
    /// <exception cref="ArgumentException">An empty key, or more operations than the provider accepts.</exception>
    Task<KvTransactionResult> TransactAsync(IReadOnlyList<KvCondition> conditions, IReadOnlyList<KvOperation> operations, CancellationToken cancellationToken = default);

    /// <summary>
    /// Every change to keys under <paramref name="prefix"/> with a revision greater than
    /// <paramref name="afterRevision"/>, in revision order (changes of one transaction in operation order), each
    /// exactly once, until canceled. Changes made while the provider reconnects are delivered after it has
    /// reconnected; a consumer that stops and watches again from the last revision it handled misses nothing.
    /// </summary>
    /// <exception cref="KvHistoryCompactedException">The store no longer keeps changes back to <paramref name="afterRevision"/> + 1: list again and watch from the list's revision.</exception>
    IAsyncEnumerable<KvEvent> WatchAsync(string prefix, long afterRevision, CancellationToken cancellationToken = default);

    /// <summary>Creates a lease that ends <paramref name="ttl"/> (rounded up to the provider's minimum) after its last keep-alive.</summary>
    Task<KvLease> GrantLeaseAsync(TimeSpan ttl, CancellationToken cancellationToken = default);

    /// <summary>
    /// Restarts the lease's time to live. Returns false when the lease has already ended (its keys are gone
    /// or going): grant a new one and write the keys again.
    /// </summary>
    Task<bool> KeepAliveAsync(string leaseId, CancellationToken cancellationToken = default);

    /// <summary>Ends a lease now, deleting its keys atomically. No-op when it already ended.</summary>
    Task RevokeLeaseAsync(string leaseId, CancellationToken cancellationToken = default);
}

/// <summary>A stored key and value with its revisions.</summary>
/// <param name="Key">The key, relative to the provider's prefix.</param>
/// <param name="Value">The value.</param>
/// <param name="CreateRevision">Revision that created the key (since it last did not exist).</param>
/// <param name="ModRevision">Revision of its last change.</param>
/// <param name="LeaseId">The lease the key is attached to, or null.</param>
public sealed record KvEntry(string Key, string Value, long CreateRevision, long ModRevision, string? LeaseId = null);

/// <summary>Entries read from one snapshot of the store, and that snapshot's revision.</summary>
public sealed record KvPage(IReadOnlyList<KvEntry> Entries, long Revision);

/// <summary>A lease: its id and the time to live the provider granted (at least the one asked for).</summary>
public sealed record KvLease(string Id, TimeSpan Ttl);

/// <summary>Outcome of <see cref="IKeyValueStore.TransactAsync"/>.</summary>
/// <param name="Succeeded">True when every condition held and the operations were applied.</param>
/// <param name="Revision">When succeeded, the revision of the changes (the current revision if nothing changed); otherwise the store revision at which the conditions were evaluated.</param>
public sealed record KvTransactionResult(bool Succeeded, long Revision);

/// <summary>
/// A transaction condition: the key's <see cref="KvEntry.ModRevision"/> equals <paramref name="ModRevision"/>;
/// 0 means the key must not exist.
/// </summary>
public sealed record KvCondition(string Key, long ModRevision)
{
    /// <summary>The key must not exist.</summary>
    public static KvCondition Absent(string key) => new(key, 0);

    /// <summary>The key must still be exactly as it was when <paramref name="entry"/> was read (or absent when null).</summary>
    public static KvCondition Unchanged(string key, KvEntry? entry) => new(key, entry?.ModRevision ?? 0);
}

/// <summary>What a transaction operation does.</summary>
public enum KvOperationKind
{
    /// <summary>Sets a key's value (creating it if needed), optionally attached to a lease.</summary>
    Put,
    /// <summary>Deletes a key; no-op when it does not exist.</summary>
    Delete,
    /// <summary>Deletes every key that starts with the given prefix (which must not be empty).</summary>
    DeletePrefix,
}

/// <summary>One operation of a transaction. Use the static factories.</summary>
public sealed record KvOperation(KvOperationKind Kind, string Key, string? Value = null, string? LeaseId = null)
{
    /// <summary>Sets <paramref name="key"/> to <paramref name="value"/>, attached to <paramref name="leaseId"/> when given (a put without a lease detaches the key from any lease).</summary>
    public static KvOperation Put(string key, string value, string? leaseId = null) => new(KvOperationKind.Put, key, value, leaseId);

    /// <summary>Deletes <paramref name="key"/>.</summary>
    public static KvOperation Delete(string key) => new(KvOperationKind.Delete, key);

    /// <summary>Deletes every key under <paramref name="prefix"/>.</summary>
    public static KvOperation DeletePrefix(string prefix) => new(KvOperationKind.DeletePrefix, prefix);
}

/// <summary>Kind of a change seen by a watch.</summary>
public enum KvEventKind
{
    /// <summary>The key was created or changed.</summary>
    Put,
    /// <summary>The key was deleted (explicitly, or because its lease ended).</summary>
    Delete,
}

/// <summary>A change seen by <see cref="IKeyValueStore.WatchAsync"/>.</summary>
/// <param name="Kind">Put or delete.</param>
/// <param name="Key">The key.</param>
/// <param name="Value">The new value of a put; null for a delete.</param>
/// <param name="Revision">Revision of the change.</param>
/// <param name="CreateRevision">For a put, the revision that created the key; 0 for a delete.</param>
/// <param name="LeaseId">For a put, the key's lease, or null.</param>
public sealed record KvEvent(KvEventKind Kind, string Key, string? Value, long Revision, long CreateRevision = 0, string? LeaseId = null);
