using System.Globalization;
using System.Text;

namespace VirtualCluster.Monitoring;

/// <summary>
/// Writes collected metrics in the Prometheus text exposition format (version 0.0.4), named as the OpenTelemetry
/// compatibility rules say: dots to underscores, the unit as a suffix (<c>s</c> → <c>_seconds</c>, <c>By</c> →
/// <c>_bytes</c>; annotations such as <c>{request}</c> dropped), <c>_total</c> on counters.
/// </summary>
internal static class PrometheusText
{
    /// <summary>The Content-Type of the format.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Writes every family, sorted by name. Instruments that map to one name (the same meter made twice) are merged.</summary>
    public static string Write(IReadOnlyList<(InstrumentSeries Instrument, List<Series> Series)> collected)
    {
        var families = new SortedDictionary<string, Family>(StringComparer.Ordinal);
        long dropped = 0;
        foreach (var (instrument, series) in collected)
        {
            dropped += instrument.Dropped;
            var name = Name(instrument.Instrument.Name, instrument.Instrument.Unit, instrument.Kind);
            if (!families.TryGetValue(name, out var family))
                families[name] = family = new Family(instrument.Kind, instrument.Bounds, instrument.Instrument.Description);
            else if (family.Kind != instrument.Kind || !family.Bounds.SequenceEqual(instrument.Bounds))
                continue; // two different instruments under one name: the first wins rather than an invalid exposition
            foreach (var s in series) family.Add(s);
        }

        var text = new StringBuilder();
        foreach (var (name, family) in families) family.Write(text, name);
        text.Append("# HELP vcluster_metrics_series_dropped_total Measurements dropped because their instrument already had the most label sets allowed.\n");
        text.Append("# TYPE vcluster_metrics_series_dropped_total counter\n");
        text.Append("vcluster_metrics_series_dropped_total ").Append(dropped.ToString(CultureInfo.InvariantCulture)).Append('\n');
        return text.ToString();
    }

    /// <summary>The Prometheus name of an instrument.</summary>
    public static string Name(string instrument, string? unit, SeriesKind kind)
    {
        var name = Sanitize(instrument, metric: true);
        var suffix = Unit(unit);
        if (suffix.Length > 0 && !name.EndsWith("_" + suffix, StringComparison.Ordinal)) name += "_" + suffix;
        if (kind is SeriesKind.Sum or SeriesKind.ObservedTotal && !name.EndsWith("_total", StringComparison.Ordinal)) name += "_total";
        // A gauge named like a histogram's parts (the runtime's dotnet.assembly.count) would read as one: say what it is.
        if (kind is SeriesKind.UpDownSum or SeriesKind.Last && (name.EndsWith("_count", StringComparison.Ordinal) || name.EndsWith("_sum", StringComparison.Ordinal) || name.EndsWith("_bucket", StringComparison.Ordinal)))
            name += "_current";
        return name;
    }

    private static string Unit(string? unit)
    {
        if (string.IsNullOrEmpty(unit)) return "";
        // "{request}" and the like only annotate a count; "1" is a ratio.
        var plain = unit.Contains('{') ? unit[..unit.IndexOf('{')] : unit;
        return plain switch
        {
            "" => "",
            "1" => "ratio",
            "s" => "seconds",
            "ms" => "milliseconds",
            "us" => "microseconds",
            "By" => "bytes",
            "KiBy" => "kibibytes",
            "MiBy" => "mebibytes",
            "%" => "percent",
            "By/s" => "bytes_per_second",
            _ => Sanitize(plain.Replace("/", "_per_", StringComparison.Ordinal), metric: true).Trim('_'),
        };
    }

    /// <summary>Letters, digits and underscores (and ':' in metric names); no leading digit; no runs of underscores.</summary>
    internal static string Sanitize(string name, bool metric)
    {
        var text = new StringBuilder(name.Length + 1);
        foreach (var c in name)
        {
            var ok = char.IsAsciiLetterOrDigit(c) || c == '_' || (metric && c == ':');
            var next = ok ? c : '_';
            if (next == '_' && text.Length > 0 && text[^1] == '_') continue;
            text.Append(next);
        }
        if (text.Length == 0 || char.IsAsciiDigit(text[0])) text.Insert(0, '_');
        return text.ToString();
    }

    internal static string Number(double value) =>
        double.IsNaN(value) ? "NaN" : double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : value.ToString("R", CultureInfo.InvariantCulture);

    private sealed class Family(SeriesKind kind, double[] bounds, string? description)
    {
        private readonly Dictionary<string, Series> _series = new(StringComparer.Ordinal);

        public SeriesKind Kind { get; } = kind;
        public double[] Bounds { get; } = bounds;

        public void Add(Series series)
        {
            var key = Labels(series.Labels, null);
            if (!_series.TryGetValue(key, out var have))
            {
                _series[key] = series;
                return;
            }
            // The same series from two instances of one meter (two hosts in one process): add them up.
            have.Value = Kind == SeriesKind.Last ? series.Value : have.Value + series.Value;
            have.Sum += series.Sum;
            have.Count += series.Count;
            for (var i = 0; i < have.BucketCounts.Length; i++) have.BucketCounts[i] += series.BucketCounts[i];
        }

        public void Write(StringBuilder text, string name)
        {
            var help = string.IsNullOrWhiteSpace(description) ? name : description;
            text.Append("# HELP ").Append(name).Append(' ').Append(help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(Kind switch
            {
                SeriesKind.Sum or SeriesKind.ObservedTotal => "counter",
                SeriesKind.Histogram => "histogram",
                _ => "gauge",
            }).Append('\n');
            foreach (var (labels, series) in _series.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (Kind != SeriesKind.Histogram)
                {
                    text.Append(name).Append(labels).Append(' ').Append(Number(series.Value)).Append('\n');
                    continue;
                }
                long cumulative = 0;
                for (var i = 0; i <= Bounds.Length; i++)
                {
                    cumulative += series.BucketCounts[i];
                    var le = i < Bounds.Length ? Number(Bounds[i]) : "+Inf";
                    text.Append(name).Append("_bucket").Append(Labels(series.Labels, le)).Append(' ').Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
                }
                text.Append(name).Append("_sum").Append(labels).Append(' ').Append(Number(series.Sum)).Append('\n');
                text.Append(name).Append("_count").Append(labels).Append(' ').Append(series.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
        }

        private static string Labels(KeyValuePair<string, string>[] labels, string? le)
        {
            if (labels.Length == 0 && le is null) return "";
            var text = new StringBuilder("{");
            var first = true;
            foreach (var (name, value) in labels)
            {
                var label = Sanitize(name, metric: false);
                if (label == "le" || label.StartsWith("__", StringComparison.Ordinal)) label = "tag_" + label.TrimStart('_'); // reserved
                if (!first) text.Append(',');
                first = false;
                text.Append(label).Append("=\"").Append(Escape(value)).Append('"');
            }
            if (le is not null) text.Append(first ? "" : ",").Append("le=\"").Append(le).Append('"');
            return text.Append('}').ToString();
        }

        private static string Escape(string value) =>
            value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
    }
}
