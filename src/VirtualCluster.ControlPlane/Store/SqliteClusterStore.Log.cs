using VirtualCluster.Runtime;

namespace VirtualCluster.ControlPlane.Store;

// Epochs, events, instance logs and settings.
public sealed partial class SqliteClusterStore
{
    /// <inheritdoc />
    /// <remarks>A committed counter row, synced to disk before the epoch is returned.</remarks>
    public Task<long> NextEpochAsync(CancellationToken cancellationToken = default) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, """
                INSERT INTO counters (name, value) VALUES ('epoch', 1)
                ON CONFLICT (name) DO UPDATE SET value = value + 1
                RETURNING value
                """);
            var epoch = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false));
            return (epoch, true);
        }, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// Sequences come from an AUTOINCREMENT key, so they are never reused, even after the newest events are gone.
    /// </remarks>
    public Task<ClusterEvent> AppendEventAsync(ClusterEvent clusterEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clusterEvent);
        return WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, """
                INSERT INTO events (ts, kind, subject, message, service, node, instance, incident)
                VALUES ($ts, $kind, $subject, $message, $service, $node, $instance, $incident)
                RETURNING seq
                """, ("$ts", FormatTime(clusterEvent.Timestamp)), ("$kind", clusterEvent.Kind), ("$subject", clusterEvent.Subject),
                ("$message", clusterEvent.Message), ("$service", clusterEvent.Service), ("$node", clusterEvent.Node),
                ("$instance", clusterEvent.Instance), ("$incident", clusterEvent.Incident));
            var sequence = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false));
            return (clusterEvent with { Sequence = sequence }, true);
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>A <paramref name="limit"/> of zero or less returns nothing.</remarks>
    public Task<IReadOnlyList<ClusterEvent>> ListEventsAsync(long afterSequence, int limit, CancellationToken cancellationToken = default) =>
        QueryEventsAsync(new EventQuery { AfterSequence = afterSequence, Limit = limit }, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// Filters in SQL, on indexed columns for service, node and incident; times compare as instants (SQLite's julianday,
    /// millisecond precision), whatever their offsets. A limit of zero or less returns nothing.
    /// </remarks>
    public Task<IReadOnlyList<ClusterEvent>> QueryEventsAsync(EventQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit <= 0) return Task.FromResult<IReadOnlyList<ClusterEvent>>([]);
        var kindIsFamily = query.Kind is not null && !query.Kind.Contains('.', StringComparison.Ordinal);
        return ReadAsync<IReadOnlyList<ClusterEvent>>(async connection =>
        {
            // Each condition is switched off by a NULL parameter, so one statement serves every combination.
            await using var command = Command(connection, null, """
                SELECT seq, ts, kind, subject, message, service, node, instance, incident FROM events
                WHERE seq > $after
                  AND ($since IS NULL OR julianday(ts) >= julianday($since))
                  AND ($incident IS NULL OR incident = $incident)
                  AND ($kind IS NULL OR kind = $kind OR ($family = 1 AND substr(kind, 1, length($kind) + 1) = $kind || '.'))
                  AND ($service IS NULL OR service = $service
                       OR (service IS NULL AND substr(kind, 1, 5) <> 'node.' AND subject = $service))
                  AND ($node IS NULL OR node = $node OR (node IS NULL AND substr(kind, 1, 5) = 'node.' AND subject = $node))
                ORDER BY seq LIMIT $limit
                """,
                ("$after", query.AfterSequence), ("$limit", query.Limit),
                ("$since", query.Since is { } since ? FormatTime(since) : null),
                ("$incident", query.Incident), ("$kind", query.Kind), ("$family", kindIsFamily ? 1 : 0),
                ("$service", query.Service), ("$node", query.Node));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var events = new List<ClusterEvent>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                events.Add(new ClusterEvent(reader.GetInt64(0), ParseTime(reader.GetString(1)), reader.GetString(2), reader.GetString(3),
                    reader.GetString(4), Text(reader, 5), Text(reader, 6), Text(reader, 7), Text(reader, 8)));
            }
            return events;
        }, cancellationToken);
    }

    private static string? Text(Microsoft.Data.Sqlite.SqliteDataReader reader, int column) => reader.IsDBNull(column) ? null : reader.GetString(column);

    /// <inheritdoc />
    /// <remarks>
    /// Keeps the newest <see cref="SqliteStoreOptions.MaxLogLinesPerInstance"/> lines. Lines of an unknown
    /// instance are stored too: agents send logs asynchronously, and a late batch must not fail a heartbeat.
    /// </remarks>
    public Task AppendLogsAsync(string instanceId, IReadOnlyList<LogLine> lines, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        ArgumentNullException.ThrowIfNull(lines);
        if (lines.Count == 0) return Task.CompletedTask;
        return WriteAsync(async (connection, transaction) =>
        {
            await using (var insert = Command(connection, transaction, """
                INSERT OR IGNORE INTO logs (instance_id, seq, ts, stream, text) VALUES ($id, $seq, $ts, $stream, $text)
                """, ("$id", instanceId), ("$seq", 0L), ("$ts", ""), ("$stream", ""), ("$text", "")))
            {
                foreach (var line in lines)
                {
                    ArgumentNullException.ThrowIfNull(line, nameof(lines));
                    insert.Parameters["$seq"].Value = line.Sequence;
                    insert.Parameters["$ts"].Value = FormatTime(line.Timestamp);
                    insert.Parameters["$stream"].Value = line.Stream;
                    insert.Parameters["$text"].Value = line.Text;
                    await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            // Deletes everything at or below the first line past the bound, counted from the newest.
            await using var trim = Command(connection, transaction, """
                DELETE FROM logs WHERE instance_id = $id AND seq <= (
                    SELECT seq FROM logs WHERE instance_id = $id ORDER BY seq DESC LIMIT 1 OFFSET $keep)
                """, ("$id", instanceId), ("$keep", options.MaxLogLinesPerInstance));
            await trim.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return (true, true);
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>A <paramref name="limit"/> of zero or less returns nothing.</remarks>
    public Task<IReadOnlyList<LogLine>> ReadLogsAsync(string instanceId, long afterSequence, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        if (limit <= 0) return Task.FromResult<IReadOnlyList<LogLine>>([]);
        return ReadAsync<IReadOnlyList<LogLine>>(async connection =>
        {
            await using var command = Command(connection, null, """
                SELECT seq, ts, stream, text FROM logs
                WHERE instance_id = $id AND seq > $after ORDER BY seq LIMIT $limit
                """, ("$id", instanceId), ("$after", afterSequence), ("$limit", limit));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var lines = new List<LogLine>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                lines.Add(new LogLine(reader.GetInt64(0), ParseTime(reader.GetString(1)), reader.GetString(2), reader.GetString(3)));
            return lines;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<long> LastLogSequenceAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        return ReadAsync(async connection =>
        {
            await using var command = Command(connection, null, "SELECT COALESCE(MAX(seq), 0) FROM logs WHERE instance_id = $id", ("$id", instanceId));
            return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false));
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>The key <c>schema_version</c> is used by the store itself.</remarks>
    public Task<string?> GetSettingAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return ReadAsync(async connection =>
        {
            await using var command = Command(connection, null, "SELECT value FROM settings WHERE key = $key", ("$key", key));
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<string> GetOrAddSettingAsync(string key, string value, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        return WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, """
                INSERT INTO settings (key, value) VALUES ($key, $value) ON CONFLICT (key) DO NOTHING;
                SELECT value FROM settings WHERE key = $key;
                """, ("$key", key), ("$value", value));
            var stored = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
            return (stored ?? throw new InvalidDataException($"Setting '{key}' vanished while being added."), true);
        }, cancellationToken);
    }
}
