using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;

namespace VirtualCluster.Monitoring.Tests;

/// <summary>
/// The collector and the text format: names, units and types as Prometheus expects them, histograms, label escaping,
/// the bound on series, observable instruments, and the real `promtool check metrics` accepting what we write (with a
/// positive control: it does refuse a bad exposition).
/// </summary>
public sealed class PrometheusTextTests : IDisposable
{
    // A meter name unique to each test instance, so tests running in parallel do not see each other's instruments.
    private readonly string _meterName = "VirtualCluster.Test." + Guid.NewGuid().ToString("N");
    private readonly Meter _meter;
    private readonly MetricsCollector _collector;

    public PrometheusTextTests()
    {
        _meter = new Meter(_meterName);
        _collector = new MetricsCollector(Options.Create(new MetricsExportOptions { Meters = [_meterName], MaxSeriesPerInstrument = 10 }));
    }

    public void Dispose()
    {
        _collector.Dispose();
        _meter.Dispose();
    }

    private static KeyValuePair<string, object?> Tag(string key, object? value) => new(key, value);

    [Fact]
    public void Counters_get_total_units_become_suffixes_and_annotations_are_dropped()
    {
        _meter.CreateCounter<long>("vcluster.heartbeats", description: "Agent heartbeats received.").Add(3);
        _meter.CreateCounter<long>("vcluster.api.requests", unit: "{request}").Add(2, Tag("status", 200));
        _meter.CreateCounter<double>("vcluster.p2p.sent", unit: "By").Add(1.5);
        _meter.CreateUpDownCounter<int>("vcluster.links.open").Add(4);
        _meter.CreateUpDownCounter<int>("vcluster.links.open").Add(-1); // a second instrument, same name: merged

        var text = _collector.WritePrometheusText();

        Assert.Contains("# HELP vcluster_heartbeats_total Agent heartbeats received.\n# TYPE vcluster_heartbeats_total counter\nvcluster_heartbeats_total 3\n", text);
        Assert.Contains("vcluster_api_requests_total{status=\"200\"} 2\n", text);
        Assert.Contains("# TYPE vcluster_p2p_sent_bytes_total counter\nvcluster_p2p_sent_bytes_total 1.5\n", text);
        Assert.Contains("# TYPE vcluster_links_open gauge\nvcluster_links_open 3\n", text);
        _meter.CreateObservableGauge("vcluster.assembly.count", () => 7, unit: "{assembly}");
        Assert.Contains("vcluster_assembly_count_current 7\n", _collector.WritePrometheusText()); // not read as a histogram's _count
        Assert.Contains("vcluster_metrics_series_dropped_total 0\n", text);
    }

    [Fact]
    public void Histograms_have_cumulative_buckets_sum_and_count_and_a_value_on_a_bound_counts_in_that_bucket()
    {
        var latency = _meter.CreateHistogram<double>("vcluster.placement.duration", unit: "s");
        foreach (var v in new[] { 0.001, 0.005, 0.2, 30.0 }) latency.Record(v, Tag("reason", "deploy"));

        var text = _collector.WritePrometheusText();

        Assert.Contains("# TYPE vcluster_placement_duration_seconds histogram\n", text);
        Assert.Contains("vcluster_placement_duration_seconds_bucket{reason=\"deploy\",le=\"0.005\"} 2\n", text);
        Assert.Contains("vcluster_placement_duration_seconds_bucket{reason=\"deploy\",le=\"0.1\"} 2\n", text);
        Assert.Contains("vcluster_placement_duration_seconds_bucket{reason=\"deploy\",le=\"0.25\"} 3\n", text);
        Assert.Contains("vcluster_placement_duration_seconds_bucket{reason=\"deploy\",le=\"10\"} 3\n", text);
        Assert.Contains("vcluster_placement_duration_seconds_bucket{reason=\"deploy\",le=\"+Inf\"} 4\n", text);
        Assert.Contains("vcluster_placement_duration_seconds_sum{reason=\"deploy\"} 30.206\n", text);
        Assert.Contains("vcluster_placement_duration_seconds_count{reason=\"deploy\"} 4\n", text);
    }

    [Fact]
    public void Hostile_label_values_are_escaped_and_names_sanitized_and_tag_order_does_not_matter()
    {
        var counter = _meter.CreateCounter<long>("vcluster.odd-name.2x");
        counter.Add(1, Tag("path", "a\"b\\c\nd"), Tag("9lives", "x"), Tag("le", "reserved"));
        counter.Add(1, Tag("le", "reserved"), Tag("9lives", "x"), Tag("path", "a\"b\\c\nd"));

        var text = _collector.WritePrometheusText();

        Assert.Contains("vcluster_odd_name_2x_total{_9lives=\"x\",tag_le=\"reserved\",path=\"a\\\"b\\\\c\\nd\"} 2\n", text);
    }

    [Fact]
    public void New_label_sets_beyond_the_bound_are_dropped_and_counted_not_kept()
    {
        var counter = _meter.CreateCounter<long>("vcluster.by.user");
        for (var i = 0; i < 25; i++) counter.Add(1, Tag("user", "u" + i));
        counter.Add(5, Tag("user", "u0")); // a known label set still counts

        var text = _collector.WritePrometheusText();

        Assert.Equal(10, text.Split('\n').Count(l => l.StartsWith("vcluster_by_user_total{", StringComparison.Ordinal)));
        Assert.Contains("vcluster_by_user_total{user=\"u0\"} 6\n", text);
        Assert.Contains("vcluster_metrics_series_dropped_total 15\n", text);
    }

    [Fact]
    public void Observable_instruments_are_read_at_each_scrape_and_a_label_set_no_longer_reported_goes()
    {
        var nodes = new Dictionary<string, int> { ["alive"] = 3, ["down"] = 1 };
        _meter.CreateObservableGauge("vcluster.nodes", () => nodes.Select(n => new Measurement<int>(n.Value, Tag("state", n.Key))));
        var total = 10L;
        _meter.CreateObservableCounter("vcluster.restarts", () => total);

        var first = _collector.WritePrometheusText();
        Assert.Contains("vcluster_nodes{state=\"down\"} 1\n", first);
        Assert.Contains("vcluster_restarts_total 10\n", first);

        nodes.Remove("down");
        nodes["alive"] = 4;
        total = 12;
        var second = _collector.WritePrometheusText();
        Assert.Contains("vcluster_nodes{state=\"alive\"} 4\n", second);
        Assert.DoesNotContain("state=\"down\"", second);
        Assert.Contains("vcluster_restarts_total 12\n", second); // a running total, not 22
    }

    [Fact]
    public void Meters_not_listed_are_not_exported()
    {
        using var other = new Meter("Somebody.Else." + Guid.NewGuid().ToString("N"));
        other.CreateCounter<long>("secret.count").Add(1);
        _meter.CreateCounter<long>("vcluster.mine").Add(1);

        var text = _collector.WritePrometheusText();

        Assert.Contains("vcluster_mine_total 1", text);
        Assert.DoesNotContain("secret", text);
    }

    [Fact]
    public async Task Promtool_accepts_the_exposition_and_refuses_a_bad_one()
    {
        _meter.CreateCounter<long>("vcluster.heartbeats", description: "Agent heartbeats received.").Add(3);
        _meter.CreateCounter<long>("vcluster.api.requests", unit: "{request}", description: "Requests.").Add(2, Tag("status", 200), Tag("path", "a\"b\\c\nd"));
        _meter.CreateHistogram<double>("vcluster.placement.duration", unit: "s", description: "Placement latency.").Record(0.01, Tag("reason", "deploy"));
        _meter.CreateHistogram<long>("vcluster.batch.size", unit: "{instance}", description: "Batch sizes.").Record(7);
        _meter.CreateObservableGauge("vcluster.nodes", () => new Measurement<int>(3, Tag("state", "alive")), description: "Nodes by state.");
        _meter.CreateUpDownCounter<long>("vcluster.p2p.buffered", unit: "By", description: "Bytes buffered.").Add(100);
        _meter.CreateObservableGauge("vcluster.thread.count", () => 12, unit: "{thread}", description: "Like the runtime's dotnet.thread_pool.thread.count.");

        var (code, output) = await Promtool.CheckMetricsAsync(_collector.WritePrometheusText());
        Assert.True(code == 0 && output.Trim().Length == 0, $"promtool: exit {code}: {output}");

        // Positive control: the same tool does complain about a counter without _total and a missing HELP.
        var (badCode, badOutput) = await Promtool.CheckMetricsAsync("# TYPE bad_counter counter\nbad_counter 1\n");
        Assert.True(badCode != 0 || badOutput.Length > 0, "promtool found nothing wrong with a bad exposition");
    }

    [Fact]
    public void Options_are_validated_with_the_field_and_the_fix()
    {
        var result = new MetricsExportOptionsValidator().Validate(null, new MetricsExportOptions
        {
            Meters = [""],
            MaxSeriesPerInstrument = 1,
            SecondsBuckets = [1, 0.5],
        });

        Assert.True(result.Failed);
        Assert.Contains("MetricsExportOptions.Meters", result.FailureMessage);
        Assert.Contains("MaxSeriesPerInstrument is 1", result.FailureMessage);
        Assert.Contains("SecondsBuckets", result.FailureMessage);
        Assert.True(new MetricsExportOptionsValidator().Validate(null, new MetricsExportOptions()).Succeeded);
    }
}
