using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using VirtualCluster.ControlPlane.Alerts;
using VirtualCluster.Monitoring.Alerts;
using VirtualCluster.Monitoring.Otlp;

namespace VirtualCluster.Host.Console;

/// <summary>The control plane's monitoring flags: where alerts go, how often the rules are checked, how often history is written.</summary>
internal sealed class AlertFlags
{
    public Option<string[]> Webhooks { get; } = new("--alert-webhook")
    {
        Description = "URL that receives alerts in Alertmanager's webhook format (repeatable).",
    };

    public Option<string[]> Alertmanagers { get; } = new("--alertmanager")
    {
        Description = "Alertmanager base URL to post alerts to (/api/v2/alerts), e.g. http://127.0.0.1:9093 (repeatable).",
    };

    public Option<double> Interval { get; } = new("--alert-interval")
    {
        Description = "Seconds between two evaluations of the alert rules (node down, node suspect, service degraded).",
        DefaultValueFactory = _ => 5,
    };

    public Option<double> HistoryFlush { get; } = new("--history-flush")
    {
        Description = "Seconds between two writes of the metrics history to the store (at most this much history is lost if the control plane is killed).",
        DefaultValueFactory = _ => 30,
    };

    public Option<FileInfo?> Rules { get; } = new("--alert-rules")
    {
        Description = "JSON file of threshold alert rules ({\"rules\": [...]}, see docs/monitoring.md); written to the cluster store at start, replacing the user rules there.",
    };

    public Option<string?> Otlp { get; } = new("--otlp-endpoint")
    {
        Description = "Also export metrics to an OpenTelemetry collector over OTLP/HTTP, e.g. http://127.0.0.1:4318 (every 15 s, beside /metrics).",
    };

    public IEnumerable<Option> All => [Webhooks, Alertmanagers, Interval, HistoryFlush, Rules, Otlp];

    /// <summary>The settings, or null after printing what is wrong.</summary>
    public Action<IServiceCollection>? Read(ParseResult parse)
    {
        var webhooks = parse.GetValue(Webhooks) ?? [];
        var alertmanagers = parse.GetValue(Alertmanagers) ?? [];
        foreach (var (flag, url) in webhooks.Select(u => ("--alert-webhook", u)).Concat(alertmanagers.Select(u => ("--alertmanager", u))))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                System.Console.Error.WriteLine($"error: {flag} \"{url}\" is not an http or https URL; e.g. http://127.0.0.1:9093");
                return null;
            }
        }
        var interval = parse.GetValue(Interval);
        if (double.IsNaN(interval) || interval is < 0.1 or > 300)
        {
            System.Console.Error.WriteLine($"error: --alert-interval {interval} must be between 0.1 and 300 seconds, e.g. 5");
            return null;
        }
        var flush = parse.GetValue(HistoryFlush);
        if (double.IsNaN(flush) || flush is < 0.1 or > 3600)
        {
            System.Console.Error.WriteLine($"error: --history-flush {flush} must be between 0.1 and 3600 seconds, e.g. 30");
            return null;
        }
        Uri? otlp = null;
        if (parse.GetValue(Otlp) is { } otlpText
            && (!Uri.TryCreate(otlpText, UriKind.Absolute, out otlp) || otlp.Scheme is not ("http" or "https") || otlp.Query.Length > 0))
        {
            System.Console.Error.WriteLine($"error: --otlp-endpoint \"{otlpText}\" is not an http or https URL of a collector; e.g. http://127.0.0.1:4318");
            return null;
        }
        IReadOnlyList<VirtualCluster.Api.AlertRuleSpec>? rules = null;
        if (parse.GetValue(Rules) is { } file)
        {
            if (!file.Exists)
            {
                System.Console.Error.WriteLine($"error: --alert-rules {file.FullName} does not exist");
                return null;
            }
            if (file.Length > 1 << 20)
            {
                System.Console.Error.WriteLine($"error: --alert-rules {file.FullName} is {file.Length} bytes; at most 1 MiB");
                return null;
            }
            var (read, problem) = AlertRuleReader.Read(File.ReadAllText(file.FullName));
            if (problem is not null)
            {
                System.Console.Error.WriteLine($"error: --alert-rules {file.FullName}: {problem}");
                return null;
            }
            rules = read;
        }
        return services =>
        {
            services.Configure<VirtualCluster.Monitoring.History.HistoryOptions>(o => o.FlushInterval = TimeSpan.FromSeconds(flush));
            services.Configure<AlertNotifierOptions>(o =>
            {
                o.Webhooks = [.. webhooks];
                o.Alertmanagers = [.. alertmanagers];
            });
            services.Configure<AlertOptions>(o =>
            {
                o.EvaluationInterval = TimeSpan.FromSeconds(interval);
                o.Rules = rules;
            });
            if (otlp is not null)
            {
                services.AddVirtualClusterOtlpMetrics(o =>
                {
                    o.Endpoint = otlp;
                    o.ServiceName = "vcluster-control-plane";
                });
            }
        };
    }
}
