using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Embedded;

// Transactions, leases and their expiry.
public sealed partial class SqliteKeyValueStore
{
    private const int KindPut = 0;
    private const int KindDelete = 1;

    /// <inheritdoc />
    public Task<KvTransactionResult> TransactAsync(IReadOnlyList<KvCondition> conditions, IReadOnlyList<KvOperation> operations, CancellationToken cancellationToken = default)
    {
        Validate(conditions, operations);
        return RunAsync(transaction =>
        {
            var revision = Revision(transaction);
            foreach (var condition in conditions)
            {
                using var read = Command("SELECT mod_rev FROM kv WHERE key = $key", transaction, ("$key", condition.Key));
                var modRevision = read.ExecuteScalar() is long found ? found : 0;
                if (modRevision != condition.ModRevision) return new KvTransactionResult(false, revision);
            }
            foreach (var lease in operations.Select(o => o.LeaseId).Where(l => l is not null).Distinct())
            {
                if (Scalar("SELECT COUNT(*) FROM kv_leases WHERE id = $id", transaction, ("$id", lease)) == 0)
                    throw new KvLeaseNotFoundException(lease!);
            }

            var next = revision + 1;
            var changed = false;
            foreach (var operation in operations)
            {
                changed |= operation.Kind switch
                {
                    KvOperationKind.Put => Put(transaction, operation.Key, operation.Value!, operation.LeaseId, next),
                    KvOperationKind.Delete => DeleteKeys(transaction, [operation.Key], next),
                    _ => DeleteKeys(transaction, KeysUnder(transaction, operation.Key), next),
                };
            }
            if (!changed) return new KvTransactionResult(true, revision);
            SetRevision(transaction, next);
            return new KvTransactionResult(true, next);
        }, cancellationToken);
    }

    private static void Validate(IReadOnlyList<KvCondition> conditions, IReadOnlyList<KvOperation> operations) =>
        KvTransactionRules.Validate(conditions, operations, MaxTransactionSize);

    private bool Put(SqliteTransaction transaction, string key, string value, string? lease, long revision)
    {
        using var read = Command("SELECT create_rev FROM kv WHERE key = $key", transaction, ("$key", key));
        var createRevision = read.ExecuteScalar() is long existing ? existing : revision;
        Execute("""
            INSERT INTO kv (key, value, create_rev, mod_rev, lease) VALUES ($key, $value, $create, $rev, $lease)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, mod_rev = excluded.mod_rev, lease = excluded.lease
            """, transaction, ("$key", key), ("$value", value), ("$create", createRevision), ("$rev", revision), ("$lease", lease));
        Record(transaction, revision, key, KindPut, value, createRevision, lease);
        return true;
    }

    private List<string> KeysUnder(SqliteTransaction transaction, string prefix)
    {
        var upper = KeyPrefix.UpperBound(prefix);
        using var command = Command($"SELECT key FROM kv WHERE {KeyPrefix.Where(upper)} ORDER BY key", transaction, ("$prefix", prefix), ("$upper", upper));
        using var reader = command.ExecuteReader();
        var keys = new List<string>();
        while (reader.Read()) keys.Add(reader.GetString(0));
        return keys;
    }

    private bool DeleteKeys(SqliteTransaction transaction, IEnumerable<string> keys, long revision)
    {
        var changed = false;
        foreach (var key in keys)
        {
            using var delete = Command("DELETE FROM kv WHERE key = $key", transaction, ("$key", key));
            if (delete.ExecuteNonQuery() == 0) continue;
            Record(transaction, revision, key, KindDelete, null, 0, null);
            changed = true;
        }
        return changed;
    }

    private void Record(SqliteTransaction transaction, long revision, string key, int kind, string? value, long createRevision, string? lease)
    {
        foreach (var prefix in _options.UnwatchedPrefixes)
            if (key.StartsWith(prefix, StringComparison.Ordinal)) return; // rewritten often, watched by nobody: no old versions kept
        Execute("INSERT INTO kv_history (rev, key, kind, value, create_rev, lease) VALUES ($rev, $key, $kind, $value, $create, $lease)",
            transaction, ("$rev", revision), ("$key", key), ("$kind", kind), ("$value", value), ("$create", createRevision), ("$lease", lease));
    }

    private void SetRevision(SqliteTransaction transaction, long revision)
    {
        Execute("UPDATE kv_meta SET value = $rev WHERE name = 'revision'", transaction, ("$rev", revision));
        _revisionWrites++;
        var compacted = Scalar("SELECT value FROM kv_meta WHERE name = 'compacted'", transaction);
        // Trim in steps of a tenth, so the history is not trimmed on every write.
        if (revision - compacted > _options.HistoryRevisions + Math.Max(1, _options.HistoryRevisions / 10))
        {
            var keepFrom = revision - _options.HistoryRevisions;
            Execute("DELETE FROM kv_history WHERE rev <= $rev", transaction, ("$rev", keepFrom));
            Execute("UPDATE kv_meta SET value = $rev WHERE name = 'compacted'", transaction, ("$rev", keepFrom));
        }
    }

    /// <inheritdoc />
    public Task<KvLease> GrantLeaseAsync(TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        var granted = ttl < _options.MinimumLeaseTtl ? _options.MinimumLeaseTtl : ttl;
        var ttlMs = (long)Math.Ceiling(granted.TotalMilliseconds);
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        return RunAsync(transaction =>
        {
            var expires = NowMs() + ttlMs;
            Execute("INSERT INTO kv_leases (id, ttl_ms, expires_at) VALUES ($id, $ttl, $expires)", transaction, ("$id", id), ("$ttl", ttlMs), ("$expires", expires));
            UpdateNextExpiry(Math.Min(Volatile.Read(ref _nextExpiry), expires));
            return new KvLease(id, TimeSpan.FromMilliseconds(ttlMs));
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> KeepAliveAsync(string leaseId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(leaseId);
        return RunAsync(transaction =>
        {
            var renewed = Command("UPDATE kv_leases SET expires_at = $now + ttl_ms WHERE id = $id", transaction, ("$now", NowMs()), ("$id", leaseId));
            using (renewed)
            {
                if (renewed.ExecuteNonQuery() == 0) return false;
            }
            UpdateNextExpiry(Scalar("SELECT COALESCE(MIN(expires_at), 9223372036854775807) FROM kv_leases", transaction));
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task RevokeLeaseAsync(string leaseId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(leaseId);
        return RunAsync(transaction =>
        {
            EndLease(transaction, leaseId);
            return true;
        }, cancellationToken);
    }

    /// <summary>Deletes a lease and its keys, all at one new revision (none when it had no keys).</summary>
    private void EndLease(SqliteTransaction transaction, string leaseId)
    {
        Execute("DELETE FROM kv_leases WHERE id = $id", transaction, ("$id", leaseId));
        var keys = new List<string>();
        using (var command = Command("SELECT key FROM kv WHERE lease = $id ORDER BY key", transaction, ("$id", leaseId)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read()) keys.Add(reader.GetString(0));
        }
        if (keys.Count == 0) return;
        var next = Revision(transaction) + 1;
        DeleteKeys(transaction, keys, next);
        SetRevision(transaction, next);
    }

    /// <summary>Ends every lease whose time is up. Runs at the start of every operation's transaction.</summary>
    private void SweepExpired(SqliteTransaction transaction)
    {
        var now = NowMs();
        if (now < Volatile.Read(ref _nextExpiry)) return;
        var expired = new List<string>();
        using (var command = Command("SELECT id FROM kv_leases WHERE expires_at <= $now ORDER BY expires_at", transaction, ("$now", now)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read()) expired.Add(reader.GetString(0));
        }
        foreach (var lease in expired)
        {
            EndLease(transaction, lease);
            Log.LeaseExpired(_logger, lease);
        }
        UpdateNextExpiry(Scalar("SELECT COALESCE(MIN(expires_at), 9223372036854775807) FROM kv_leases", transaction));
    }

    private void UpdateNextExpiry(long value) => Volatile.Write(ref _nextExpiry, value);

    private async Task SweepFromTimerAsync()
    {
        if (_disposed || NowMs() < Volatile.Read(ref _nextExpiry)) return;
        try
        {
            await RunAsync(_ => true, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ObjectDisposedException or KeyValueStoreUnavailableException)
        {
            if (!_disposed) Log.SweepFailed(_logger, e.Message);
        }
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();
}
