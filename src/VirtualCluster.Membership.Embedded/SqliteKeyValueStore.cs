using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Embedded;

/// <summary>
/// <see cref="IKeyValueStore"/> in one SQLite file: the embedded default. Keys, their revisions and leases are
/// tables; every change is also appended to a history table, which watches read from (the newest
/// <see cref="EmbeddedMembershipOptions.HistoryRevisions"/> revisions are kept). Leases expire on the injected
/// <see cref="TimeProvider"/>: a timer sweeps them, and every operation sweeps first.
/// </summary>
/// <remarks>
/// One process owns the file: operations of this instance run one at a time on one connection, in immediate
/// transactions with full sync, so a revision handed out is never handed out again, even after a crash.
/// Watches of this instance wake up on each commit.
/// </remarks>
public sealed partial class SqliteKeyValueStore : IKeyValueStore, IAsyncDisposable, IDisposable
{
    /// <summary>
    /// Most operations and conditions accepted in one transaction. SQLite has no limit of its own; this one bounds
    /// the work of one call. Higher than etcd's 128 on purpose: each transaction costs a sync to disk, and the control
    /// plane commits a mass failover in as few transactions as this allows.
    /// </summary>
    public const int MaxTransactionSize = 4096;

    private readonly SqliteConnection _connection;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly StoreCommands _commands;
    // Times the revision was set (under the gate): an operation that set it wakes the watches.
    private long _revisionWrites;
    private readonly TimeProvider _time;
    private readonly EmbeddedMembershipOptions _options;
    private readonly ILogger _logger;
    private readonly ITimer _sweeper;
    private TaskCompletionSource _committed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _nextExpiry = long.MaxValue;
    private volatile bool _disposed;

    /// <summary>Opens (creating if needed) the store at <see cref="EmbeddedMembershipOptions.Path"/>.</summary>
    /// <exception cref="InvalidOperationException">The file cannot be opened or is not a store of this kind.</exception>
    public SqliteKeyValueStore(EmbeddedMembershipOptions options, TimeProvider? time = null, ILogger<SqliteKeyValueStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = EmbeddedMembershipOptionsValidator.Problems(options);
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems), nameof(options));
        _options = options;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        Path = System.IO.Path.GetFullPath(options.Path);
        var directory = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        _commands = new StoreCommands(_connection);
        try
        {
            _connection.Open();
            Execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
            using (var transaction = _connection.BeginTransaction(deferred: false))
            {
                Execute(Schema, transaction);
                Execute("INSERT OR IGNORE INTO kv_meta (name, value) VALUES ('revision', 0), ('compacted', 0);", transaction);
                transaction.Commit();
            }
            _nextExpiry = Scalar("SELECT COALESCE(MIN(expires_at), 9223372036854775807) FROM kv_leases");
        }
        catch (SqliteException e)
        {
            _commands.Dispose();
            _connection.Dispose();
            throw new InvalidOperationException($"Cannot open the embedded key-value store '{Path}': {e.Message}", e);
        }
        _sweeper = _time.CreateTimer(_ => _ = SweepFromTimerAsync(), null, options.SweepInterval, options.SweepInterval);
    }

    /// <summary>Full path of the database file.</summary>
    public string Path { get; }

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS kv_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS kv (
            key        TEXT PRIMARY KEY,
            value      TEXT NOT NULL,
            create_rev INTEGER NOT NULL,
            mod_rev    INTEGER NOT NULL,
            lease      TEXT
        );
        CREATE INDEX IF NOT EXISTS kv_by_lease ON kv (lease) WHERE lease IS NOT NULL;
        CREATE TABLE IF NOT EXISTS kv_leases (id TEXT PRIMARY KEY, ttl_ms INTEGER NOT NULL, expires_at INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS kv_history (
            seq        INTEGER PRIMARY KEY AUTOINCREMENT,
            rev        INTEGER NOT NULL,
            key        TEXT NOT NULL,
            kind       INTEGER NOT NULL,
            value      TEXT,
            create_rev INTEGER NOT NULL,
            lease      TEXT
        );
        CREATE INDEX IF NOT EXISTS kv_history_by_rev ON kv_history (rev);
        """;

    /// <inheritdoc />
    public Task<KvEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return RunAsync<KvEntry?>(transaction =>
        {
            using var command = Command("SELECT key, value, create_rev, mod_rev, lease FROM kv WHERE key = $key", transaction, ("$key", key));
            using var reader = command.ExecuteReader();
            return reader.Read() ? ReadEntry(reader) : null;
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>All keys in one transaction (one snapshot), each through the primary-key index.</remarks>
    public Task<IReadOnlyList<KvEntry?>> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys) ArgumentException.ThrowIfNullOrEmpty(key, nameof(keys));
        return RunAsync<IReadOnlyList<KvEntry?>>(transaction =>
        {
            var entries = new KvEntry?[keys.Count];
            for (var i = 0; i < keys.Count; i++)
            {
                using var command = Command("SELECT key, value, create_rev, mod_rev, lease FROM kv WHERE key = $key", transaction, ("$key", keys[i]));
                using var reader = command.ExecuteReader();
                entries[i] = reader.Read() ? ReadEntry(reader) : null;
            }
            return entries;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<KvPage> ListAsync(string prefix, string? startKey = null, int limit = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return RunAsync(transaction =>
        {
            var upper = KeyPrefix.UpperBound(prefix);
            using var command = Command($"""
                SELECT key, value, create_rev, mod_rev, lease FROM kv
                WHERE {KeyPrefix.Where(upper)} AND ($start IS NULL OR key >= $start)
                ORDER BY key LIMIT $limit
                """, transaction, ("$prefix", prefix), ("$upper", upper), ("$start", startKey), ("$limit", limit > 0 ? limit : -1));
            using var reader = command.ExecuteReader();
            var entries = new List<KvEntry>();
            while (reader.Read()) entries.Add(ReadEntry(reader));
            return new KvPage(entries, Revision(transaction));
        }, cancellationToken);
    }

    /// <summary>Runs <paramref name="work"/> on the connection, in one immediate transaction, after sweeping expired leases.</summary>
    private async Task<T> RunAsync<T>(Func<SqliteTransaction, T> work, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        var changed = false;
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var transaction = _connection.BeginTransaction(deferred: false);
            // Counted in memory, not read back: two statements less for every operation, reads included.
            var before = _revisionWrites;
            SweepExpired(transaction);
            var result = work(transaction);
            changed = _revisionWrites != before;
            transaction.Commit();
            return result;
        }
        catch (SqliteException e)
        {
            throw new KeyValueStoreUnavailableException($"The embedded key-value store '{Path}' failed: {e.Message}", e);
        }
        finally
        {
            _gate.Release();
            if (changed) Interlocked.Exchange(ref _committed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    private StoreCommand Command(string sql, SqliteTransaction? transaction, params (string Name, object? Value)[] parameters) =>
        _commands.Get(sql, transaction, parameters);

    private void Execute(string sql, SqliteTransaction? transaction = null, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, transaction, parameters);
        command.ExecuteNonQuery();
    }

    private long Scalar(string sql, SqliteTransaction? transaction = null, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, transaction, parameters);
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private long Revision(SqliteTransaction transaction) => Scalar("SELECT value FROM kv_meta WHERE name = 'revision'", transaction);

    private static KvEntry ReadEntry(SqliteDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.IsDBNull(4) ? null : reader.GetString(4));

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        await _sweeper.DisposeAsync().ConfigureAwait(false);
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            _commands.Dispose();
            _connection.Dispose();
        }
        finally
        {
            _gate.Release();
        }
        _committed.TrySetResult();
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
