using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using VirtualCluster.Api;
using VirtualCluster.Membership.ClusterState;
using VirtualCluster.Runtime;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Store;

/// <summary>
/// Moves a data directory of the retired SQLite cluster store (<c>cluster.db</c>, schema 1 or 2) into the
/// key-value cluster store: settings (signing key, tokens), nodes, services with their instances (ids and epochs
/// kept), events (sequences kept), instance logs, and an epoch floor above every epoch the old store handed out.
/// </summary>
/// <remarks>
/// Idempotent and restartable: every step writes what the old file says whatever is already there, and a marker
/// setting written last says the import is done; only then is the old file renamed to <c>cluster.db.imported</c>.
/// A crash part-way leaves the old file in place, and the next start imports again.
/// </remarks>
internal static class LegacyStoreImport
{
    /// <summary>Imports <c>cluster.db</c> of <paramref name="dataDirectory"/> into <paramref name="store"/> when there is one; true when it did.</summary>
    /// <exception cref="InvalidOperationException">The old file cannot be read, or was written by a newer version.</exception>
    public static async Task<bool> RunAsync(string dataDirectory, KvClusterStore store, int maxEvents, CancellationToken ct = default)
    {
        var path = Path.Combine(dataDirectory, LegacySchema.FileName);
        if (!File.Exists(path)) return false;
        if (await store.GetSettingAsync(LegacySchema.ImportedKey, ct).ConfigureAwait(false) is null)
        {
            try
            {
                await ImportAsync(path, store, maxEvents, ct).ConfigureAwait(false);
            }
            catch (SqliteException e)
            {
                throw new InvalidOperationException($"Cannot import the old cluster database '{path}': {e.Message}. Move it away to start with an empty cluster.", e);
            }
            await store.GetOrAddSettingAsync(LegacySchema.ImportedKey, DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
        }
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            if (File.Exists(path + suffix)) File.Move(path + suffix, path + ".imported" + suffix, overwrite: true);
        }
        return true;
    }

    private static async Task ImportAsync(string path, KvClusterStore store, int maxEvents, CancellationToken ct)
    {
        var connectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString();
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(ct).ConfigureAwait(false);
        // A file of schema 1 may lack tables that were created on first use; a missing table reads as empty.
        var tables = (await ReadAsync(connection, "SELECT name FROM sqlite_master WHERE type = 'table'", r => r.GetString(0), ct).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);
        string From(string table, string sql) => tables.Contains(table) ? sql : "SELECT NULL WHERE 0";

        var settings = await ReadAsync(connection, From("settings", "SELECT key, value FROM settings"), r => (Key: r.GetString(0), Value: r.GetString(1)), ct).ConfigureAwait(false);
        var version = settings.FirstOrDefault(s => s.Key == LegacySchema.VersionKey).Value;
        if (version is not null && (!int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number > LegacySchema.Version))
            throw new InvalidOperationException($"The old cluster database '{path}' has schema version '{version}', newer than this build reads ({LegacySchema.Version}). Upgrade VirtualCluster.");
        foreach (var (key, value) in settings.Where(s => s.Key != LegacySchema.VersionKey))
            await store.GetOrAddSettingAsync(key, value, ct).ConfigureAwait(false);

        foreach (var node in await ReadAsync(connection, From("nodes", "SELECT json FROM nodes"), r => FromJson<NodeInfo>(r.GetString(0)), ct).ConfigureAwait(false))
            await store.UpsertNodeAsync(node, ct).ConfigureAwait(false);

        var instances = (await ReadAsync(connection, From("instances", "SELECT json FROM instances ORDER BY id"), r => FromJson<ServiceInstance>(r.GetString(0)), ct).ConfigureAwait(false))
            .ToLookup(i => i.Service, StringComparer.Ordinal);
        var services = await ReadAsync(connection, From("services", "SELECT json, created_at, version FROM services"), r => new ServiceRecord(
            FromJson<ServiceSpec>(r.GetString(0)), DateTimeOffset.Parse(r.GetString(1), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind), r.GetInt64(2)), ct).ConfigureAwait(false);
        foreach (var service in services)
        {
            // A service imported by an earlier, interrupted run is complete: its deploy committed as a whole.
            if (await store.GetServiceAsync(service.Spec.Name, ct).ConfigureAwait(false) is null)
                await store.CreateServiceAsync(service, instances[service.Spec.Name].ToList(), ct).ConfigureAwait(false);
        }

        var epochs = await ReadAsync(connection, From("counters", "SELECT value FROM counters WHERE name = 'epoch'"), r => r.GetInt64(0), ct).ConfigureAwait(false);
        var highest = Math.Max(epochs.DefaultIfEmpty(0).Max(), instances.SelectMany(g => g).Select(i => i.Epoch).DefaultIfEmpty(0).Max());
        await store.RaiseEpochFloorAsync(highest, ct).ConfigureAwait(false);

        var columns = await ReadAsync(connection, "SELECT name FROM pragma_table_info('events')", r => r.GetString(0), ct).ConfigureAwait(false);
        var extra = columns.Contains("incident") ? "service, node, instance, incident" : "NULL, NULL, NULL, NULL";
        // The old store kept every event; the new one keeps the newest maxEvents, so only those are carried over.
        var events = await ReadAsync(connection, From("events", $"SELECT seq, ts, kind, subject, message, {extra} FROM events ORDER BY seq DESC LIMIT {maxEvents}"),
            r => new ClusterEvent(r.GetInt64(0), DateTimeOffset.Parse(r.GetString(1), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                r.GetString(2), r.GetString(3), r.GetString(4), Text(r, 5), Text(r, 6), Text(r, 7), Text(r, 8)), ct).ConfigureAwait(false);
        foreach (var e in events.OrderBy(e => e.Sequence)) await store.ImportEventAsync(e, ct).ConfigureAwait(false);

        var logs = await ReadAsync(connection, From("logs", "SELECT instance_id, seq, ts, stream, text FROM logs ORDER BY instance_id, seq"), r => (Instance: r.GetString(0),
            Line: new LogLine(r.GetInt64(1), DateTimeOffset.Parse(r.GetString(2), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind), r.GetString(3), r.GetString(4))), ct).ConfigureAwait(false);
        foreach (var group in logs.GroupBy(l => l.Instance, StringComparer.Ordinal))
            await store.AppendLogsAsync(group.Key, group.Select(l => l.Line).ToList(), ct).ConfigureAwait(false);
    }

    private static string? Text(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static async Task<List<T>> ReadAsync<T>(SqliteConnection connection, string sql, Func<SqliteDataReader, T> map, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var result = new List<T>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false)) result.Add(map(reader));
        return result;
    }

    private static T FromJson<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, VirtualClusterJson.Options) ?? throw new InvalidDataException($"A stored {typeof(T).Name} record is empty.");
}
