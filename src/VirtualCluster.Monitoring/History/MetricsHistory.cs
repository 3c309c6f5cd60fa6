using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Store;

namespace VirtualCluster.Monitoring.History;

/// <summary>
/// Metrics history in a key-value store (SQLite, etcd or Consul: the cluster store itself), downsampled as it is
/// recorded: every sample goes into each tier's open bucket (sum, count, max), a bucket becomes a point when time
/// moves past it, and a tier's points for one block of time live under one key. Changed blocks are written every
/// <see cref="HistoryOptions.FlushInterval"/>, blocks past their tier's retention are deleted by <see cref="SweepAsync"/>,
/// so the stored size is bounded by series x (retention / block length + 1) keys per tier whatever the uptime.
/// A control plane records while it leads; a new leader reads each series' current blocks on its first sample and
/// goes on from there (open buckets included), so a restart loses at most the samples of one flush interval.
/// </summary>
public sealed partial class MetricsHistory
{
    private const int BatchSize = 50; // under every provider's transaction limit (Consul: 64)
    private const int MaxRetained = 100_000;

    private readonly IKeyValueStore _store;
    private readonly HistoryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, Series> _series = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HistoryBlock> _unwritten = new(StringComparer.Ordinal); // closed or failed blocks by key
    private bool _seriesLimitLogged;

    /// <summary>Creates the history over <paramref name="store"/>; nothing is read until the first sample or query.</summary>
    public MetricsHistory(IKeyValueStore store, IOptions<HistoryOptions> options, TimeProvider time, ILogger<MetricsHistory> logger)
    {
        _store = store;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>The configured resolutions, finest first.</summary>
    public IReadOnlyList<HistoryTier> Tiers => _options.Tiers;

    /// <summary>
    /// Records one sample of a series' metrics (<paramref name="values"/> in <paramref name="names"/> order; NaN for a
    /// metric without a value). A sample older than a tier's open bucket is dropped there.
    /// </summary>
    public async Task RecordAsync(string series, DateTimeOffset at, string[] names, double[] values, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(series);
        if (names.Length != values.Length) throw new ArgumentException("One value per metric name.", nameof(values));
        var t = at.ToUnixTimeSeconds();
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (!_series.TryGetValue(series, out var s))
            {
                if (_series.Count >= _options.MaxSeries)
                {
                    if (!_seriesLimitLogged) Log.SeriesLimit(_logger, _options.MaxSeries, series);
                    _seriesLimitLogged = true;
                    return;
                }
                s = new Series(names, _options.Tiers.Count);
                await LoadAsync(series, s, t, ct).ConfigureAwait(false);
                _series[series] = s;
            }
            if (!names.AsSpan().SequenceEqual(s.Names))
            {
                s.Names = names;
                for (var i = 0; i < s.Current.Length; i++) s.Current[i] = s.Current[i]?.WithNames(names);
            }
            for (var i = 0; i < _options.Tiers.Count; i++)
            {
                var (bucket, blockStart) = Bucket(i, t);
                var block = s.Current[i];
                if (block is not null && blockStart < block.Start) continue; // older than what this tier holds
                if (block is null || block.Start != blockStart)
                {
                    if (block is not null)
                    {
                        block.Close();
                        _unwritten[Key(i, series, block.Start)] = block;
                    }
                    block = s.Current[i] = HistoryBlock.Empty(blockStart, s.Names);
                }
                if (block.Add(bucket, values)) s.Dirty[i] = true;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Writes every changed block; returns how many were written. A failed write is kept and tried again next time.</summary>
    public async Task<int> FlushAsync(CancellationToken ct = default)
    {
        List<(string Key, HistoryBlock Block, string Json)> writes;
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            writes = [.. _unwritten.Select(u => (u.Key, u.Value, u.Value.ToJson()))];
            _unwritten.Clear();
            foreach (var (id, s) in _series)
            {
                for (var i = 0; i < s.Current.Length; i++)
                {
                    if (!s.Dirty[i] || s.Current[i] is not { } block) continue;
                    writes.Add((Key(i, id, block.Start), block, block.ToJson()));
                    s.Dirty[i] = false;
                }
            }
        }
        finally
        {
            _gate.Release();
        }
        var written = 0;
        for (var offset = 0; offset < writes.Count; offset += BatchSize)
        {
            var batch = writes.Skip(offset).Take(BatchSize).ToList();
            try
            {
                await _store.TransactAsync([], [.. batch.Select(w => KvOperation.Put(w.Key, w.Json))], ct).ConfigureAwait(false);
                written += batch.Count;
            }
            catch (Exception e) when (e is KeyValueStoreUnavailableException or IOException or TimeoutException)
            {
                Log.FlushFailed(_logger, writes.Count - offset, e.Message);
                await RetainAsync(writes.Skip(offset).Select(w => (w.Key, w.Block))).ConfigureAwait(false);
                break;
            }
        }
        return written;
    }

    // Blocks whose write failed are written again at the next flush, unless a newer state of the same key is pending.
    private async Task RetainAsync(IEnumerable<(string Key, HistoryBlock Block)> failed)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var (key, block) in failed)
            {
                if (_unwritten.Count >= MaxRetained) break; // the store has been away for long: keep memory bounded
                var current = _series.Values.SelectMany(s => s.Current.Select((b, i) => (b, i, s))).FirstOrDefault(x => ReferenceEquals(x.b, block));
                if (current.s is not null) current.s.Dirty[current.i] = true;
                else _unwritten.TryAdd(key, block);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task LoadAsync(string series, Series s, long t, CancellationToken ct)
    {
        for (var i = 0; i < _options.Tiers.Count; i++)
        {
            var (_, blockStart) = Bucket(i, t);
            var entry = await _store.GetAsync(Key(i, series, blockStart), ct).ConfigureAwait(false);
            if (entry is null) continue;
            if (HistoryBlock.FromJson(entry.Value) is { } block && block.Start == blockStart) s.Current[i] = block.WithNames(s.Names);
            else Log.CorruptBlock(_logger, entry.Key);
        }
    }

    private (long Bucket, long BlockStart) Bucket(int tier, long t)
    {
        var step = (long)_options.Tiers[tier].Step.TotalSeconds;
        var block = (long)_options.Tiers[tier].BlockLength.TotalSeconds;
        return (FloorTo(t, step), FloorTo(t, block));
    }

    private static long FloorTo(long t, long unit) => t - (((t % unit) + unit) % unit);

    private string TierPrefix(int tier) => $"{_options.KeyPrefix}{tier}/";

    private string SeriesPrefix(int tier, string series) => $"{TierPrefix(tier)}{Uri.EscapeDataString(series)}/";

    private string Key(int tier, string series, long blockStart) =>
        SeriesPrefix(tier, series) + blockStart.ToString("D12", CultureInfo.InvariantCulture);

    private sealed class Series(string[] names, int tiers)
    {
        public string[] Names { get; set; } = names;
        public HistoryBlock?[] Current { get; } = new HistoryBlock?[tiers];
        public bool[] Dirty { get; } = new bool[tiers];
    }
}
