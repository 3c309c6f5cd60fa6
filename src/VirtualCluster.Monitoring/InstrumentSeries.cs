using System.Diagnostics.Metrics;
using System.Globalization;

namespace VirtualCluster.Monitoring;

/// <summary>How an instrument's measurements add up, which decides its Prometheus type.</summary>
internal enum SeriesKind
{
    /// <summary>Counter: each measurement is added; exported as a counter.</summary>
    Sum,

    /// <summary>UpDownCounter: each measurement is added; exported as a gauge (it may go down).</summary>
    UpDownSum,

    /// <summary>Observable counter: each observation is the running total; exported as a counter.</summary>
    ObservedTotal,

    /// <summary>Gauge, observable gauge or observable up-down counter: the last value; exported as a gauge.</summary>
    Last,

    /// <summary>Histogram: bucket counts, sum and count.</summary>
    Histogram,
}

/// <summary>One label set's figures.</summary>
internal sealed class Series(KeyValuePair<string, string>[] labels, int buckets)
{
    public KeyValuePair<string, string>[] Labels { get; } = labels;
    public double Value { get; set; }
    public long[] BucketCounts { get; } = buckets == 0 ? [] : new long[buckets + 1]; // the last is +Inf
    public double Sum { get; set; }
    public long Count { get; set; }
}

/// <summary>
/// What one instrument recorded, per label set, bounded by <see cref="MetricsExportOptions.MaxSeriesPerInstrument"/>.
/// Thread-safe: measurements arrive on any thread.
/// </summary>
internal sealed class InstrumentSeries(Instrument instrument, SeriesKind kind, double[] bounds, int maxSeries)
{
    private readonly Lock _gate = new();
    // Looked up by a hash of the tags as given (names and raw values, any order), compared by value: a measurement of
    // a label set already seen allocates nothing.
    private readonly Dictionary<int, List<(KeyValuePair<string, object?>[] Tags, Series Series)>> _series = [];
    private int _count;

    public Instrument Instrument { get; } = instrument;
    public SeriesKind Kind { get; } = kind;
    public double[] Bounds { get; } = bounds;
    public long Dropped { get; private set; }

    public bool IsObservable => Instrument.IsObservable;

    public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (double.IsNaN(value)) return;
        var hash = Hash(tags);
        lock (_gate)
        {
            Series? series = null;
            if (_series.TryGetValue(hash, out var bucket))
            {
                foreach (var (known, candidate) in bucket)
                {
                    if (!SameTags(known, tags)) continue;
                    series = candidate;
                    break;
                }
            }
            if (series is null)
            {
                if (_count >= maxSeries)
                {
                    Dropped++;
                    return;
                }
                series = new Series(Labels(tags), Kind == SeriesKind.Histogram ? Bounds.Length : 0);
                if (bucket is null) _series[hash] = bucket = [];
                bucket.Add((tags.ToArray(), series));
                _count++;
            }
            switch (Kind)
            {
                case SeriesKind.Sum or SeriesKind.UpDownSum:
                    series.Value += value;
                    break;
                case SeriesKind.ObservedTotal or SeriesKind.Last:
                    series.Value = value;
                    break;
                case SeriesKind.Histogram:
                    var slot = Array.BinarySearch(Bounds, value);
                    series.BucketCounts[slot >= 0 ? slot : ~slot]++; // "le": a value equal to a bound counts in it
                    series.Sum += value;
                    series.Count++;
                    break;
            }
        }
    }

    /// <summary>Forgets the observed series before the observable callbacks run again (a label set not reported any more goes).</summary>
    public void ClearObserved()
    {
        lock (_gate)
        {
            _series.Clear();
            _count = 0;
        }
    }

    public List<Series> Snapshot()
    {
        lock (_gate)
        {
            return [.. _series.Values.SelectMany(b => b).Select(p => p.Series).Select(s =>
            {
                var copy = new Series(s.Labels, Bounds.Length == 0 || Kind != SeriesKind.Histogram ? 0 : Bounds.Length)
                {
                    Value = s.Value,
                    Sum = s.Sum,
                    Count = s.Count,
                };
                s.BucketCounts.CopyTo(copy.BucketCounts, 0);
                return copy;
            })];
        }
    }

    // Order-independent: the same tags in another order land in the same series.
    private static int Hash(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var hash = tags.Length;
        foreach (var (name, value) in tags) hash += HashCode.Combine(name, value);
        return hash;
    }

    private static bool SameTags(KeyValuePair<string, object?>[] known, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (known.Length != tags.Length) return false;
        foreach (var (name, value) in tags)
        {
            var found = false;
            foreach (var (knownName, knownValue) in known)
            {
                if (knownName != name) continue;
                found = Equals(knownValue, value);
                break;
            }
            if (!found) return false;
        }
        return true;
    }

    private static KeyValuePair<string, string>[] Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var labels = new KeyValuePair<string, string>[tags.Length];
        for (var i = 0; i < tags.Length; i++)
            labels[i] = new(tags[i].Key, Convert.ToString(tags[i].Value, CultureInfo.InvariantCulture) ?? "");
        Array.Sort(labels, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return labels;
    }
}
