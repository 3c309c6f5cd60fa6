using System.Globalization;
using VirtualCluster.Store;

namespace VirtualCluster.Monitoring.History;

public sealed partial class MetricsHistory
{
    /// <summary>
    /// Deletes every stored block that ended more than its tier's retention ago; returns how many. Blocks of series
    /// that no longer exist (a removed node) go the same way.
    /// </summary>
    public async Task<int> SweepAsync(CancellationToken ct = default)
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var deleted = 0;
        for (var i = 0; i < _options.Tiers.Count; i++)
        {
            var tier = _options.Tiers[i];
            var oldestKept = now - (long)tier.Retention.TotalSeconds - (long)tier.BlockLength.TotalSeconds;
            var prefix = TierPrefix(i);
            var expired = new List<string>();
            string? startKey = null;
            while (true)
            {
                var page = await _store.ListAsync(prefix, startKey, 500, ct).ConfigureAwait(false);
                foreach (var entry in page.Entries)
                {
                    var slash = entry.Key.LastIndexOf('/');
                    if (!long.TryParse(entry.Key.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var start) || start < oldestKept)
                        expired.Add(entry.Key); // expired, or not a block at all
                }
                if (page.Entries.Count < 500) break;
                startKey = page.Entries[^1].Key + "\0";
            }
            for (var offset = 0; offset < expired.Count; offset += BatchSize)
            {
                await _store.TransactAsync([], [.. expired.Skip(offset).Take(BatchSize).Select(KvOperation.Delete)], ct).ConfigureAwait(false);
                deleted += Math.Min(BatchSize, expired.Count - offset);
            }
        }
        if (deleted > 0) Log.Swept(_logger, deleted);
        return deleted;
    }

    /// <summary>Forgets the in-memory series (after leadership is lost): the next leader reads them from the store.</summary>
    public async Task ResetAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _series.Clear();
            _unwritten.Clear();
        }
        finally
        {
            _gate.Release();
        }
    }
}
