using System.Globalization;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.Monitoring.Alerts;

namespace VirtualCluster.ControlPlane.Alerts;

/// <summary>
/// The threshold rules' conditions over the leader's latest samples: one candidate alert per rule and node (or service)
/// whose metric compares true. A metric not sampled yet (NaN) never holds. Keeps each service's restart counts of the
/// last 10 minutes for <c>restarts_10m</c>; not thread-safe (one evaluator calls it).
/// </summary>
internal sealed class ThresholdRules
{
    private static readonly TimeSpan RestartWindow = TimeSpan.FromMinutes(10);
    private readonly Dictionary<string, Queue<(DateTimeOffset At, int Restarts)>> _restarts = new(StringComparer.Ordinal);

    public IEnumerable<(string Key, TimeSpan For, Func<DateTimeOffset, Alert> Make)> Holding(IReadOnlyList<AlertRuleSpec> rules,
        IReadOnlyList<NodeHistorySample> nodes, IReadOnlyList<ServiceHistorySample> services, DateTimeOffset now)
    {
        var recentRestarts = RecentRestarts(services, now);
        var result = new List<(string, TimeSpan, Func<DateTimeOffset, Alert>)>();
        foreach (var rule in rules.Where(r => r.Enabled))
        {
            var subjects = rule.Scope == "node"
                ? nodes.Select(n => (n.Name, Value: NodeValue(n, rule.Metric)))
                : services.Select(s => (s.Name, Value: ServiceValue(s, rule.Metric, recentRestarts)));
            foreach (var (name, value) in subjects)
            {
                if (rule.Match is { Count: > 0 } match && !match.Contains(name)) continue;
                if (!Holds(value, rule.Operator, rule.Threshold)) continue;
                var (r, n, v) = (rule, name, value);
                result.Add(($"rule/{rule.Name}/{name}", rule.For, since => Make(r, n, v, since)));
            }
        }
        return result;
    }

    internal static bool Holds(double value, string op, double threshold) => !double.IsNaN(value) && op switch
    {
        ">" => value > threshold,
        ">=" => value >= threshold,
        "<" => value < threshold,
        "<=" => value <= threshold,
        "==" => value == threshold,
        "!=" => value != threshold,
        _ => false,
    };

    private static double NodeValue(NodeHistorySample n, string metric) => metric switch
    {
        "cpu" => n.Cpu,
        "memory" => n.Memory,
        "disk" => n.Disk,
        "cpu_allocated" => n.CpuAllocated,
        "memory_allocated" => n.MemoryAllocated,
        "instances" => n.Instances,
        "phi" => n.Phi,
        "network_rx" => n.NetworkReceive,
        "network_tx" => n.NetworkTransmit,
        _ => double.NaN,
    };

    private static double ServiceValue(ServiceHistorySample s, string metric, Dictionary<string, int> recentRestarts) => metric switch
    {
        "running" => s.Running,
        "desired" => s.Desired,
        "missing" => Math.Max(0, s.Desired - s.Running),
        "restarts" => s.Restarts,
        "restarts_10m" => recentRestarts.GetValueOrDefault(s.Name),
        "cpu_millicores" => s.CpuMillicores,
        "memory_bytes" => s.MemoryBytes,
        _ => double.NaN,
    };

    // Restarts in the window: the count now minus the oldest count kept within it (instances that went away take their
    // counts with them, so a drop is not negative restarts).
    private Dictionary<string, int> RecentRestarts(IReadOnlyList<ServiceHistorySample> services, DateTimeOffset now)
    {
        var recent = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var s in services)
        {
            if (!_restarts.TryGetValue(s.Name, out var queue)) _restarts[s.Name] = queue = new();
            queue.Enqueue((now, s.Restarts));
            while (queue.Count > 1 && now - queue.Peek().At > RestartWindow) queue.Dequeue();
            recent[s.Name] = Math.Max(0, s.Restarts - queue.Min(q => q.Restarts));
        }
        foreach (var gone in _restarts.Keys.Where(k => !recent.ContainsKey(k)).ToList()) _restarts.Remove(gone);
        return recent;
    }

    private static Alert Make(AlertRuleSpec rule, string subject, double value, DateTimeOffset since)
    {
        var shown = value.ToString("0.###", CultureInfo.InvariantCulture);
        var summary = rule.Summary is { } text
            ? text.Replace("{name}", subject, StringComparison.Ordinal).Replace("{value}", shown, StringComparison.Ordinal)
            : $"{rule.Metric} of {rule.Scope} {subject} is {shown} ({rule.Operator} {rule.Threshold.ToString(CultureInfo.InvariantCulture)})";
        return new Alert(
            new Dictionary<string, string>(StringComparer.Ordinal) { ["alertname"] = rule.Name, ["severity"] = rule.Severity, [rule.Scope] = subject },
            new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["summary"] = summary,
                ["description"] = $"{summary}, since {since:HH:mm:ss} UTC (rule {rule.Name}: {rule.Metric} {rule.Operator} {rule.Threshold.ToString(CultureInfo.InvariantCulture)} for {rule.For})",
            }, since);
    }
}
