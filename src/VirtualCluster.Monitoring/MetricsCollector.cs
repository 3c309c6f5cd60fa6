using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;

namespace VirtualCluster.Monitoring;

/// <summary>
/// Listens to the meters <see cref="MetricsExportOptions.Meters"/> names (System.Diagnostics.Metrics) and keeps what
/// they record, per instrument and label set, for <see cref="PrometheusText"/>. Observable instruments are read at
/// each collection. One per process is enough; it sees every meter, whichever DI container made it.
/// </summary>
public sealed class MetricsCollector : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, InstrumentSeries> _instruments = new();
    private readonly MetricsExportOptions _options;
    private readonly Lock _collecting = new();

    /// <summary>Starts listening at once.</summary>
    public MetricsCollector(IOptions<MetricsExportOptions> options)
    {
        _options = options.Value;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (!_options.Exports(instrument.Meter.Name) || Kind(instrument) is not { } kind) return;
            var series = new InstrumentSeries(instrument, kind, kind == SeriesKind.Histogram ? Bounds(instrument) : [], _options.MaxSeriesPerInstrument);
            _instruments[instrument] = series;
            listener.EnableMeasurementEvents(instrument, series);
        };
        _listener.MeasurementsCompleted = (instrument, _) => _instruments.TryRemove(instrument, out InstrumentSeries? _);
        _listener.SetMeasurementEventCallback<double>((_, value, tags, state) => ((InstrumentSeries)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>((_, value, tags, state) => ((InstrumentSeries)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) => ((InstrumentSeries)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>((_, value, tags, state) => ((InstrumentSeries)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<short>((_, value, tags, state) => ((InstrumentSeries)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<byte>((_, value, tags, state) => ((InstrumentSeries)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<decimal>((_, value, tags, state) => ((InstrumentSeries)state!).Record((double)value, tags));
        _listener.Start();
    }

    /// <summary>The Content-Type of <see cref="WritePrometheusText"/>: the Prometheus text format, version 0.0.4.</summary>
    public const string PrometheusContentType = PrometheusText.ContentType;

    /// <summary>Every exported instrument as of now, in the Prometheus text format.</summary>
    public string WritePrometheusText() => PrometheusText.Write(Collect());

    /// <summary>Reads the observable instruments, then returns every instrument's series as of now.</summary>
    internal IReadOnlyList<(InstrumentSeries Instrument, List<Series> Series)> Collect()
    {
        lock (_collecting)
        {
            foreach (var observed in _instruments.Values.Where(i => i.IsObservable)) observed.ClearObserved();
            _listener.RecordObservableInstruments();
            return [.. _instruments.Values.Select(i => (i, i.Snapshot()))];
        }
    }

    /// <inheritdoc />
    public void Dispose() => _listener.Dispose();

    private static SeriesKind? Kind(Instrument instrument)
    {
        if (!instrument.GetType().IsGenericType) return null;
        var definition = instrument.GetType().GetGenericTypeDefinition();
        if (definition == typeof(Counter<>)) return SeriesKind.Sum;
        if (definition == typeof(UpDownCounter<>)) return SeriesKind.UpDownSum;
        if (definition == typeof(ObservableCounter<>)) return SeriesKind.ObservedTotal;
        if (definition == typeof(Histogram<>)) return SeriesKind.Histogram;
        if (definition == typeof(Gauge<>) || definition == typeof(ObservableGauge<>) || definition == typeof(ObservableUpDownCounter<>)) return SeriesKind.Last;
        return null;
    }

    // The instrument's own advice (ASP.NET Core gives its request durations one), else the defaults for its unit.
    private double[] Bounds(Instrument instrument)
    {
        IReadOnlyList<double>? advised = instrument switch
        {
            Histogram<double> h => h.Advice?.HistogramBucketBoundaries,
            Histogram<float> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToList(),
            Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToList(),
            Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToList(),
            _ => null,
        };
        var bounds = advised is { Count: > 0 } ? advised : instrument.Unit == "s" ? _options.SecondsBuckets : _options.DefaultBuckets;
        return [.. bounds.Where(double.IsFinite).Distinct().Order()];
    }
}
