using System.Text;
using VirtualCluster.Runtime;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.ClusterState;

// The event log and instance logs.
public sealed partial class KvClusterStore
{
    // Log lines are stored in batches of at most this many bytes of text (etcd's default request limit is 1.5 MiB).
    private const int MaxBatchBytes = 256 * 1024;
    private const int MaxBatchesPerTransaction = 40;

    private string EventKey(long sequence) => $"{_p}events/{Seq(sequence)}";
    private string EventCounterKey => $"{_p}counters/events";
    private string LogsPrefix(string instanceId) => $"{_p}logs/{instanceId}/";
    private string LogMetaKey(string instanceId) => $"{_p}log-meta/{instanceId}";

    /// <inheritdoc />
    /// <remarks>
    /// The sequence comes from a counter advanced in the same transaction that stores the event, so readers
    /// never see a gap that fills later. Keeps the newest <see cref="KvClusterStoreOptions.MaxEvents"/> events.
    /// </remarks>
    public async Task<ClusterEvent> AppendEventAsync(ClusterEvent clusterEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clusterEvent);
        for (var attempt = 0; ; attempt++)
        {
            var counter = await _kv.GetAsync(EventCounterKey, cancellationToken).ConfigureAwait(false);
            var sequence = (counter is null ? 0 : long.Parse(counter.Value, System.Globalization.CultureInfo.InvariantCulture)) + 1;
            var stored = clusterEvent with { Sequence = sequence };
            List<KvOperation> operations =
            [
                KvOperation.Put(EventCounterKey, sequence.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                KvOperation.Put(EventKey(sequence), ToJson(stored)),
            ];
            if (sequence > _options.MaxEvents) operations.Add(KvOperation.Delete(EventKey(sequence - _options.MaxEvents)));
            if (await CommitAsync([KvCondition.Unchanged(EventCounterKey, counter)], operations, cancellationToken).ConfigureAwait(false)) return stored;
            ThrowIfTooManyAttempts(attempt, "append an event");
        }
    }

    /// <inheritdoc />
    /// <remarks>A <paramref name="limit"/> of zero or less returns nothing.</remarks>
    public async Task<IReadOnlyList<ClusterEvent>> ListEventsAsync(long afterSequence, int limit, CancellationToken cancellationToken = default)
    {
        if (limit <= 0) return [];
        var start = afterSequence < 0 ? null : EventKey(afterSequence + 1);
        var page = await _kv.ListAsync($"{_p}events/", start, limit, cancellationToken).ConfigureAwait(false);
        return page.Entries.Select(e => FromJson<ClusterEvent>(e.Value)).Where(e => e.Sequence > afterSequence).OrderBy(e => e.Sequence).Take(limit).ToList();
    }

    /// <inheritdoc />
    /// <remarks>
    /// Lines are stored in batches, one key per batch. Keeps about the newest
    /// <see cref="KvClusterStoreOptions.MaxLogLinesPerInstance"/> lines (whole oldest batches are dropped). Lines of
    /// an unknown instance are stored too, as in the SQLite store.
    /// </remarks>
    public async Task AppendLogsAsync(string instanceId, IReadOnlyList<LogLine> lines, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        ArgumentNullException.ThrowIfNull(lines);
        foreach (var line in lines) ArgumentNullException.ThrowIfNull(line, nameof(lines));
        if (lines.Count == 0 || !IsSegment(instanceId)) return;
        for (var attempt = 0; ; attempt++)
        {
            var metaEntry = await _kv.GetAsync(LogMetaKey(instanceId), cancellationToken).ConfigureAwait(false);
            var meta = metaEntry is null ? new LogMeta(0, 0) : FromJson<LogMeta>(metaEntry.Value);
            var stored = lines.Any(l => l.Sequence <= meta.Last) ? await StoredSequencesAsync(instanceId, cancellationToken).ConfigureAwait(false) : [];
            var fresh = lines.Where(l => !stored.Contains(l.Sequence)).DistinctBy(l => l.Sequence).OrderBy(l => l.Sequence).ToList();
            if (fresh.Count == 0) return;

            var batches = Batch(fresh).Take(MaxBatchesPerTransaction).ToList();
            var written = batches.Sum(b => b.Count);
            var newMeta = new LogMeta(Math.Max(meta.Last, batches[^1][^1].Sequence), meta.Count + written);
            List<KvOperation> operations = [KvOperation.Put(LogMetaKey(instanceId), ToJson(newMeta))];
            operations.AddRange(batches.Select(b => KvOperation.Put(LogsPrefix(instanceId) + Seq(b[0].Sequence), ToJson(b))));
            if (await CommitAsync([KvCondition.Unchanged(LogMetaKey(instanceId), metaEntry)], operations, cancellationToken).ConfigureAwait(false))
            {
                if (newMeta.Count > _options.MaxLogLinesPerInstance) await TrimLogsAsync(instanceId, cancellationToken).ConfigureAwait(false);
                if (written == fresh.Count) return;
                lines = fresh.Skip(written).ToList(); // More than one transaction holds: store the rest next.
                attempt = -1;
                continue;
            }
            ThrowIfTooManyAttempts(attempt, "append logs of " + instanceId);
        }
    }

    private static IEnumerable<List<LogLine>> Batch(List<LogLine> lines)
    {
        var batch = new List<LogLine>();
        var bytes = 0;
        foreach (var line in lines)
        {
            var size = Encoding.UTF8.GetByteCount(line.Text) + 64;
            if (batch.Count > 0 && bytes + size > MaxBatchBytes)
            {
                yield return batch;
                batch = [];
                bytes = 0;
            }
            batch.Add(line);
            bytes += size;
        }
        if (batch.Count > 0) yield return batch;
    }

    private async Task<HashSet<long>> StoredSequencesAsync(string instanceId, CancellationToken cancellationToken)
    {
        var page = await _kv.ListAsync(LogsPrefix(instanceId), cancellationToken).ConfigureAwait(false);
        return page.Entries.SelectMany(e => FromJson<List<LogLine>>(e.Value)).Select(l => l.Sequence).ToHashSet();
    }

    private async Task TrimLogsAsync(string instanceId, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var metaEntry = await _kv.GetAsync(LogMetaKey(instanceId), cancellationToken).ConfigureAwait(false);
            if (metaEntry is null) return;
            var meta = FromJson<LogMeta>(metaEntry.Value);
            var batches = (await _kv.ListAsync(LogsPrefix(instanceId), cancellationToken).ConfigureAwait(false)).Entries
                .Select(e => (e.Key, Lines: FromJson<List<LogLine>>(e.Value))).OrderBy(b => b.Lines[0].Sequence).ToList();
            var count = batches.Sum(b => b.Lines.Count);
            List<KvOperation> operations = [];
            foreach (var batch in batches)
            {
                if (count - batch.Lines.Count < _options.MaxLogLinesPerInstance || operations.Count >= MaxBatchesPerTransaction) break;
                operations.Add(KvOperation.Delete(batch.Key));
                count -= batch.Lines.Count;
            }
            if (operations.Count == 0) return;
            operations.Add(KvOperation.Put(LogMetaKey(instanceId), ToJson(meta with { Count = count })));
            if (await CommitAsync([KvCondition.Unchanged(LogMetaKey(instanceId), metaEntry)], operations, cancellationToken).ConfigureAwait(false)) return;
        }
    }

    /// <inheritdoc />
    /// <remarks>A <paramref name="limit"/> of zero or less returns nothing.</remarks>
    public async Task<IReadOnlyList<LogLine>> ReadLogsAsync(string instanceId, long afterSequence, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        if (limit <= 0 || !IsSegment(instanceId)) return [];
        var page = await _kv.ListAsync(LogsPrefix(instanceId), cancellationToken).ConfigureAwait(false);
        return page.Entries.SelectMany(e => FromJson<List<LogLine>>(e.Value))
            .Where(l => l.Sequence > afterSequence).OrderBy(l => l.Sequence).Take(limit).ToList();
    }

    /// <inheritdoc />
    public async Task<long> LastLogSequenceAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        if (!IsSegment(instanceId)) return 0;
        var entry = await _kv.GetAsync(LogMetaKey(instanceId), cancellationToken).ConfigureAwait(false);
        return entry is null ? 0 : FromJson<LogMeta>(entry.Value).Last;
    }

    private sealed record LogMeta(long Last, long Count);
}
