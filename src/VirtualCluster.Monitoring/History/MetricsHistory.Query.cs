using System.Globalization;
using VirtualCluster.Api;

namespace VirtualCluster.Monitoring.History;

public sealed partial class MetricsHistory
{
    /// <summary>
    /// The points of one metric of a series from <paramref name="from"/> to <paramref name="to"/>, <paramref name="step"/>
    /// apart (average and max of each step), from the coarsest tier that still has that step and reaches back to
    /// <paramref name="from"/> (else the finest that reaches back, whose step is then the answer's). Steps without a
    /// sample are left out. The caller validates the range (see <see cref="CheckRange"/>).
    /// </summary>
    public async Task<HistoryResponse> QueryAsync(string series, string metric, DateTimeOffset from, DateTimeOffset to, TimeSpan step, CancellationToken ct = default)
    {
        if (CheckRange(from, to, step) is { } problem) throw new ArgumentException(problem);
        var now = _time.GetUtcNow();
        var tiers = _options.Tiers;
        var reaching = Enumerable.Range(0, tiers.Count).Where(i => now - tiers[i].Retention <= from).ToList();
        var tier = reaching.LastOrDefault(i => tiers[i].Step <= step, -1);
        if (tier < 0) tier = reaching.Count > 0 ? reaching[0] : tiers.Count - 1;
        var stepSeconds = (long)Math.Max(step.TotalSeconds, tiers[tier].Step.TotalSeconds);
        var (f, t) = (from.ToUnixTimeSeconds(), to.ToUnixTimeSeconds());

        var blocks = new SortedDictionary<long, HistoryBlock>();
        var prefix = SeriesPrefix(tier, series);
        var startKey = prefix + Bucket(tier, f).BlockStart.ToString("D12", CultureInfo.InvariantCulture);
        while (true)
        {
            var page = await _store.ListAsync(prefix, startKey, 100, ct).ConfigureAwait(false);
            var past = false;
            foreach (var entry in page.Entries)
            {
                if (!long.TryParse(entry.Key.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var start)) continue;
                if (start > t) { past = true; break; }
                if (HistoryBlock.FromJson(entry.Value) is { } block && block.Start == start) blocks[start] = block;
            }
            if (past || page.Entries.Count < 100) break;
            startKey = page.Entries[^1].Key + "\0";
        }
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            // what is not written yet is newer than what is
            foreach (var (key, block) in _unwritten)
                if (key.StartsWith(prefix, StringComparison.Ordinal)) blocks[block.Start] = Copy(block);
            if (_series.TryGetValue(series, out var s) && s.Current[tier] is { } current) blocks[current.Start] = Copy(current);
        }
        finally
        {
            _gate.Release();
        }

        var points = new SortedDictionary<long, (double Sum, int Count, double Max)>();
        foreach (var block in blocks.Values)
        {
            var index = Array.IndexOf(block.Names, metric);
            if (index < 0) continue;
            foreach (var (at, average, max) in block.Points())
            {
                if (at < f || at > t || double.IsNaN(average[index])) continue;
                var bucket = FloorTo(at, stepSeconds);
                var p = points.GetValueOrDefault(bucket, (0, 0, double.NaN));
                points[bucket] = (p.Sum + average[index], p.Count + 1, double.IsNaN(p.Max) ? max[index] : Math.Max(p.Max, max[index]));
            }
        }
        return new HistoryResponse(series, metric, from, to, (int)stepSeconds, tiers[tier].Name,
            [.. points.Select(p => new HistoryPoint(DateTimeOffset.FromUnixTimeSeconds(p.Key), p.Value.Sum / p.Value.Count, p.Value.Max))]);
    }

    /// <summary>Why a range cannot be answered (naming the field and the fix), or null when it can.</summary>
    public string? CheckRange(DateTimeOffset from, DateTimeOffset to, TimeSpan step)
    {
        if (step < TimeSpan.FromSeconds(1)) return $"step is {step.TotalSeconds:0.###} s; it must be at least 1 second, e.g. step=1m";
        if (to <= from) return "the range is empty: 'from' must be before 'to' (e.g. range=1h ends now)";
        var oldest = _options.Tiers.Max(x => x.Retention);
        if (to - from > oldest + TimeSpan.FromDays(1))
            return $"the range is {(to - from).TotalDays:0.#} days; history is kept for {oldest.TotalDays:0.#} days, so ask for at most that (e.g. range=7d)";
        var points = (to - from).Ticks / step.Ticks;
        if (points > _options.MaxPointsPerQuery)
            return $"range / step is {points} points; at most {_options.MaxPointsPerQuery} are answered: use a larger step (e.g. step={Suggest(to - from)})";
        return null;
    }

    private string Suggest(TimeSpan range)
    {
        foreach (var tier in _options.Tiers)
            if (range.Ticks / tier.Step.Ticks <= _options.MaxPointsPerQuery) return tier.Name;
        return $"{Math.Ceiling(range.TotalSeconds / _options.MaxPointsPerQuery):0}s";
    }

    private static HistoryBlock Copy(HistoryBlock block) => HistoryBlock.FromJson(block.ToJson()) ?? HistoryBlock.Empty(block.Start, block.Names);
}
