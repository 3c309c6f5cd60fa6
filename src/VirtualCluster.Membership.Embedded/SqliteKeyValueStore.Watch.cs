using System.Runtime.CompilerServices;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Embedded;

// Watches: read the history table from a cursor, wait for the next commit.
public sealed partial class SqliteKeyValueStore
{
    private const int WatchBatch = 500;

    /// <inheritdoc />
    /// <remarks>Wakes on every commit of this instance, and polls every <see cref="EmbeddedMembershipOptions.WatchPollInterval"/> as well.</remarks>
    public async IAsyncEnumerable<KvEvent> WatchAsync(string prefix, long afterRevision, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfNegative(afterRevision);
        var cursor = -1L; // Sequence of the last history row read; -1 until the first read positions it.
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var committed = Volatile.Read(ref _committed).Task;
            var (events, nextCursor, full) = await ReadHistoryAsync(prefix, afterRevision, cursor, cancellationToken).ConfigureAwait(false);
            cursor = nextCursor;
            foreach (var change in events) yield return change;
            if (full) continue;
            await Task.WhenAny(committed, Task.Delay(_options.WatchPollInterval, _time, cancellationToken)).ConfigureAwait(false);
            ObjectDisposedException.ThrowIf(_disposed, this);
        }
    }

    private Task<(List<KvEvent> Events, long Cursor, bool Full)> ReadHistoryAsync(string prefix, long afterRevision, long cursor, CancellationToken cancellationToken) =>
        RunAsync(transaction =>
        {
            var compacted = Scalar("SELECT value FROM kv_meta WHERE name = 'compacted'", transaction);
            if (cursor < 0)
            {
                if (afterRevision < compacted) throw new KvHistoryCompactedException(afterRevision + 1, compacted + 1);
                // History rows are appended in revision order, so the rows after the cursor are exactly the later revisions.
                using var first = Command("SELECT MIN(seq) FROM kv_history WHERE rev > $after", transaction, ("$after", afterRevision));
                cursor = first.ExecuteScalar() is long seq ? seq - 1
                    : Scalar("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'kv_history'), 0)", transaction);
            }
            else
            {
                using var oldest = Command("SELECT MIN(seq) FROM kv_history", transaction);
                // The rows this watch had not read yet were trimmed while it was away (the newest revision is never trimmed).
                if (oldest.ExecuteScalar() is long seq && seq > cursor + 1)
                    throw new KvHistoryCompactedException(afterRevision + 1, compacted + 1);
            }

            using var command = Command("""
                SELECT seq, rev, key, kind, value, create_rev, lease FROM kv_history
                WHERE seq > $cursor ORDER BY seq LIMIT $limit
                """, transaction, ("$cursor", cursor), ("$limit", WatchBatch));
            using var reader = command.ExecuteReader();
            var events = new List<KvEvent>();
            var read = 0;
            while (reader.Read())
            {
                read++;
                cursor = reader.GetInt64(0);
                var key = reader.GetString(2);
                if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
                var kind = reader.GetInt32(3) == KindPut ? KvEventKind.Put : KvEventKind.Delete;
                events.Add(new KvEvent(kind, key, reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt64(1),
                    reader.GetInt64(5), reader.IsDBNull(6) ? null : reader.GetString(6)));
            }
            return (events, cursor, read == WatchBatch);
        }, cancellationToken);
}
