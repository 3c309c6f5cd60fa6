using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using VirtualCluster.Membership.Consul.Client;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Consul;

// Watches (journal replay plus blocking reads of the prefix) and journal trimming.
public sealed partial class ConsulKeyValueStore
{
    /// <inheritdoc />
    /// <remarks>
    /// Each round blocks on the prefix (a Consul blocking query), then replays the journal entries up to the index
    /// that read returned, then reports keys that vanished without a journal entry (a session ended) as deletes at
    /// that index. A failed round (Consul unreachable) is retried after a pause, from where it stopped.
    /// </remarks>
    public async IAsyncEnumerable<KvEvent> WatchAsync(string prefix, long afterRevision, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfNegative(afterRevision);
        var state = new Dictionary<string, ConsulKvPair>(StringComparer.Ordinal);
        var lastJournal = afterRevision;
        long dataIndex = 0;
        var first = true;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var round = await ReadRoundAsync(prefix, dataIndex, lastJournal, cancellationToken).ConfigureAwait(false);
            if (round is null)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
                continue;
            }
            var (data, journal) = round.Value;
            if (first)
            {
                foreach (var pair in data.Value) state[pair.Key] = pair;
                first = false;
            }
            var known = new HashSet<string>(state.Keys, StringComparer.Ordinal);
            foreach (var entry in journal)
            {
                foreach (var change in JsonSerializer.Deserialize<List<JournalChange>>(Decode(entry.Value), ConsulClient.Json) ?? [])
                {
                    if (!change.K.StartsWith(prefix, StringComparison.Ordinal)) continue;
                    if (change.T == "p")
                    {
                        known.Add(Full(change.K));
                        yield return new KvEvent(KvEventKind.Put, change.K, change.V, entry.ModifyIndex, change.C == 0 ? entry.ModifyIndex : change.C, change.L);
                    }
                    else
                    {
                        known.Remove(Full(change.K));
                        yield return new KvEvent(KvEventKind.Delete, change.K, null, entry.ModifyIndex);
                    }
                }
                lastJournal = entry.ModifyIndex;
            }
            // Keys that were there and vanished without a journal entry: their session ended.
            var present = data.Value.Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
            foreach (var key in known.Where(k => !present.Contains(k)).Order(Utf8Order.Instance).ToList())
                yield return new KvEvent(KvEventKind.Delete, Relative(key), null, data.Index);
            state = data.Value.ToDictionary(p => p.Key, StringComparer.Ordinal);
            // Consul asks clients to start over when an index goes backwards.
            dataIndex = data.Index < dataIndex ? 0 : Math.Max(data.Index, 1);
        }
    }

    /// <summary>One blocking read of the prefix, then the journal entries after <paramref name="lastJournal"/> up to its index; null when Consul was unreachable.</summary>
    private async Task<(ConsulResult<List<ConsulKvPair>> Data, List<ConsulKvPair> Journal)?> ReadRoundAsync(
        string prefix, long dataIndex, long lastJournal, CancellationToken cancellationToken)
    {
        try
        {
            var raw = await _client.KvListAsync(Full(prefix), dataIndex > 0 ? dataIndex : null, cancellationToken).ConfigureAwait(false);
            var data = raw with { Value = raw.Value.Where(p => !IsReserved(Relative(p.Key))).ToList() };
            var journalList = await _client.KvListAsync(Full(JournalDir), cancellationToken: cancellationToken).ConfigureAwait(false);
            var trimmed = await TrimmedThroughAsync(cancellationToken).ConfigureAwait(false);
            if (lastJournal < trimmed) throw new KvHistoryCompactedException(lastJournal + 1, trimmed + 1);
            var journal = journalList.Value.Where(p => p.ModifyIndex > lastJournal && p.ModifyIndex <= data.Index).OrderBy(p => p.ModifyIndex).ToList();
            return (data, journal);
        }
        catch (KeyValueStoreUnavailableException e)
        {
            Log.WatchRoundFailed(_logger, prefix, e.Message);
            return null;
        }
    }

    private async Task<long> TrimmedThroughAsync(CancellationToken cancellationToken)
    {
        var marker = await _client.KvGetAsync(Full(JournalTrimmedKey), cancellationToken: cancellationToken).ConfigureAwait(false);
        return marker.Value is null ? 0 : long.Parse(Decode(marker.Value.Value), CultureInfo.InvariantCulture);
    }

    /// <summary>Deletes the oldest journal entries beyond <see cref="ConsulMembershipOptions.JournalEntries"/> and records the index trimmed through.</summary>
    private async Task TrimJournalAsync(CancellationToken cancellationToken)
    {
        try
        {
            var journal = (await _client.KvListAsync(Full(JournalDir), cancellationToken: cancellationToken).ConfigureAwait(false)).Value
                .OrderBy(p => p.ModifyIndex).ToList();
            var excess = journal.Count - _options.JournalEntries;
            foreach (var batch in journal.Take(Math.Max(0, excess)).Chunk(MaxTransactionSize))
            {
                var ops = batch.Select(p => new ConsulTxnOp(new ConsulTxnKvOp("delete-cas", p.Key, Index: p.ModifyIndex))).ToList();
                ops.Add(new ConsulTxnOp(new ConsulTxnKvOp("set", Full(JournalTrimmedKey), Encode(Format(batch[^1].ModifyIndex)))));
                await _client.TxnAsync(ops, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (KeyValueStoreUnavailableException e)
        {
            Log.TrimFailed(_logger, e.Message);
        }
    }
}
