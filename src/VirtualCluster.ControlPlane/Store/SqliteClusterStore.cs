using System.Globalization;
using Microsoft.Data.Sqlite;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Store;

/// <summary>
/// <see cref="IClusterStore"/> in one SQLite file (WAL journal, full sync, foreign keys on).
/// Safe to call from many threads at once.
/// </summary>
/// <remarks>
/// Each operation opens its own pooled connection, so reads run in parallel with each other and with a
/// write (WAL lets readers see the last commit while a writer works). Writes of this process queue on an
/// async gate instead of polling SQLite's lock, which would add sleep-and-retry delays under load;
/// the busy timeout still covers other processes that open the same file.
/// Every write is one immediate transaction, so a failure part-way leaves nothing behind.
/// Deleting an instance or service also deletes the stored logs of its instances.
/// Upserting an instance whose service does not exist throws <see cref="InvalidOperationException"/>,
/// so a late update cannot bring back an instance of a deleted service.
/// </remarks>
public sealed partial class SqliteClusterStore : IClusterStore, IDisposable
{
    private readonly string connectionString;
    private readonly SqliteStoreOptions options;
    private readonly SemaphoreSlim writeGate = new(1, 1);
    private volatile bool disposed;

    /// <summary>Opens the store at <paramref name="path"/>, creating the file, its directories and the tables as needed.</summary>
    /// <param name="path">Database file path.</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <exception cref="InvalidOperationException">The file is not a SQLite database, is corrupt, cannot be opened, or was written by a newer version.</exception>
    public SqliteClusterStore(string path, SqliteStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        this.options = options ?? new SqliteStoreOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(this.options.MaxLogLinesPerInstance, 1, "options.MaxLogLinesPerInstance");
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(this.options.BusyTimeout, TimeSpan.Zero, "options.BusyTimeout");

        Path = System.IO.Path.GetFullPath(path);
        var directory = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);

        connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            // Microsoft.Data.Sqlite also retries busy statements up to this command timeout.
            DefaultTimeout = (int)Math.Ceiling(this.options.BusyTimeout.TotalSeconds),
        }.ToString();

        try
        {
            Initialize();
        }
        catch (SqliteException ex)
        {
            ClearPool();
            var reason = ex.SqliteErrorCode is 26 or 11 // SQLITE_NOTADB, SQLITE_CORRUPT
                ? "the file is not a SQLite database or is corrupt"
                : "it could not be opened";
            throw new InvalidOperationException($"Cannot open the cluster store '{Path}': {reason} ({ex.Message}).", ex);
        }
        catch
        {
            ClearPool();
            throw;
        }
    }

    /// <summary>Full path of the database file.</summary>
    public string Path { get; }

    /// <summary>Releases pooled connections (and with them the file). Operations after this throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        // The write gate is left alone: operations still running release it on their way out.
        ClearPool();
    }

    private void ClearPool()
    {
        using var connection = new SqliteConnection(connectionString);
        SqliteConnection.ClearPool(connection);
    }

    private void Initialize()
    {
        using var connection = Open();
        // WAL is a property of the file, so it is set once here rather than per connection.
        Execute(connection, null, "PRAGMA journal_mode = WAL;");
        using var transaction = connection.BeginTransaction(deferred: false);
        Execute(connection, transaction, SqliteSchema.Create);

        using var read = Command(connection, transaction, "SELECT value FROM settings WHERE key = $key", ("$key", SqliteSchema.VersionKey));
        var stored = read.ExecuteScalar() as string;
        if (stored is null)
        {
            using var write = Command(connection, transaction, "INSERT INTO settings (key, value) VALUES ($key, $value)",
                ("$key", SqliteSchema.VersionKey), ("$value", SqliteSchema.Version.ToString(CultureInfo.InvariantCulture)));
            write.ExecuteNonQuery();
        }
        else if (!int.TryParse(stored, NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version > SqliteSchema.Version)
        {
            throw new InvalidOperationException(
                $"The cluster store '{Path}' has schema version '{stored}', but this build understands up to {SqliteSchema.Version}. Upgrade VirtualCluster.");
        }
        else if (version < SqliteSchema.Version)
        {
            // Migrations run in the same transaction as the version update, so a crash leaves the old version intact.
            if (version == 1) Execute(connection, transaction, SqliteSchema.MigrateFrom1);
            using var update = Command(connection, transaction, "UPDATE settings SET value = $value WHERE key = $key",
                ("$key", SqliteSchema.VersionKey), ("$value", SqliteSchema.Version.ToString(CultureInfo.InvariantCulture)));
            update.ExecuteNonQuery();
        }
        Execute(connection, transaction, SqliteSchema.CreateIndexes);
        transaction.Commit();
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            Execute(connection, null, ConnectionPragmas);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    // Per connection (pooled connections keep them, but setting them again is cheap). synchronous = FULL
    // syncs every commit, so an epoch handed out is never handed out again even after a power loss.
    private string ConnectionPragmas => string.Create(CultureInfo.InvariantCulture,
        $"PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA busy_timeout = {(long)options.BusyTimeout.TotalMilliseconds};");

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            using var pragmas = Command(connection, null, ConnectionPragmas);
            await pragmas.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Runs <paramref name="read"/> on its own connection.</summary>
    private async Task<T> ReadAsync<T>(Func<SqliteConnection, Task<T>> read, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await read(connection).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="write"/> in one immediate transaction, committed only when it returns
    /// with <c>commit</c> true; an exception or false rolls everything back.
    /// </summary>
    private async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<(T Result, bool Commit)>> write, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        await writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = connection.BeginTransaction(deferred: false);
            var (result, commit) = await write(connection, transaction).ConfigureAwait(false);
            if (commit) await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            else await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            return result;
        }
        finally
        {
            writeGate.Release();
        }
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = Command(connection, transaction, sql);
        command.ExecuteNonQuery();
    }

    private static string FormatTime(DateTimeOffset value) => value.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseTime(string value) =>
        DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
