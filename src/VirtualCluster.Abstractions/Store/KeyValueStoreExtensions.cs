namespace VirtualCluster.Store;

/// <summary>Outcome of a compare-and-set.</summary>
/// <param name="Succeeded">True when the expected revision matched and the value was written.</param>
/// <param name="Revision">Revision of the write when it succeeded.</param>
/// <param name="Current">When it failed, the entry as it is now (null when absent).</param>
public sealed record KvCasResult(bool Succeeded, long Revision, KvEntry? Current);

/// <summary>Single-key operations built on <see cref="IKeyValueStore.TransactAsync"/>.</summary>
public static class KeyValueStoreExtensions
{
    /// <summary>Every entry under <paramref name="prefix"/>, with the snapshot's revision.</summary>
    public static Task<KvPage> ListAsync(this IKeyValueStore store, string prefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.ListAsync(prefix, null, 0, cancellationToken);
    }

    /// <summary>Sets a key unconditionally and returns the revision of the write.</summary>
    public static async Task<long> PutAsync(this IKeyValueStore store, string key, string value, string? leaseId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var result = await store.TransactAsync([], [KvOperation.Put(key, value, leaseId)], cancellationToken).ConfigureAwait(false);
        return result.Revision;
    }

    /// <summary>
    /// Sets a key only if its mod revision is <paramref name="expectedModRevision"/> (0: only if it does not
    /// exist). Atomic: of several concurrent calls with the same expected revision, at most one succeeds.
    /// On failure the result carries the current entry.
    /// </summary>
    public static async Task<KvCasResult> CompareAndSetAsync(this IKeyValueStore store, string key, string value, long expectedModRevision,
        string? leaseId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var result = await store.TransactAsync([new KvCondition(key, expectedModRevision)], [KvOperation.Put(key, value, leaseId)], cancellationToken)
            .ConfigureAwait(false);
        if (result.Succeeded) return new KvCasResult(true, result.Revision, null);
        return new KvCasResult(false, 0, await store.GetAsync(key, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Deletes a key only if its mod revision is <paramref name="expectedModRevision"/>. True when deleted.</summary>
    public static async Task<bool> CompareAndDeleteAsync(this IKeyValueStore store, string key, long expectedModRevision, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThan(expectedModRevision, 1);
        var result = await store.TransactAsync([new KvCondition(key, expectedModRevision)], [KvOperation.Delete(key)], cancellationToken).ConfigureAwait(false);
        return result.Succeeded;
    }

    /// <summary>Deletes a key unconditionally (no-op when absent).</summary>
    public static Task DeleteAsync(this IKeyValueStore store, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.TransactAsync([], [KvOperation.Delete(key)], cancellationToken);
    }
}
