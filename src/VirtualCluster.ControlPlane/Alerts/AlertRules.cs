using System.Globalization;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.Monitoring.Alerts;

namespace VirtualCluster.ControlPlane.Alerts;

/// <summary>
/// The built-in rules, each a condition over the leader's view and how long it must hold:
/// <c>NodeDown</c> (critical, at once: the failure detector already waited), <c>NodeSuspect</c> (warning, after
/// <see cref="AlertOptions.SuspectFor"/>), <c>ServiceDegraded</c> (warning, fewer running instances than asked
/// for during <see cref="AlertOptions.DegradedFor"/>). Keeps when each condition was first seen; not thread-safe
/// (one evaluator calls it).
/// </summary>
internal sealed class AlertRules(AlertOptions options)
{
    private readonly Dictionary<string, DateTimeOffset> _pendingSince = new(StringComparer.Ordinal);

    /// <summary>The alerts whose condition holds now and has held long enough.</summary>
    /// <param name="thresholds">Conditions of the threshold rules that hold now (<see cref="ThresholdRules"/>), judged with the same clock.</param>
    public List<Alert> Evaluate(IReadOnlyList<AlertNode> nodes, IReadOnlyList<AlertService> services, DateTimeOffset now,
        IEnumerable<(string Key, TimeSpan For, Func<DateTimeOffset, Alert> Make)>? thresholds = null)
    {
        var holding = new List<(string Key, TimeSpan For, Func<DateTimeOffset, Alert> Make)>(thresholds ?? []);
        foreach (var node in nodes)
        {
            var phi = node.Phi.ToString("0.#", CultureInfo.InvariantCulture);
            if (node.State == NodeState.Down)
                holding.Add(("down/" + node.Name, TimeSpan.Zero, since => New("NodeDown", "critical", since, $"Node {node.Name} is down",
                    $"No heartbeat from {node.Name} (φ {phi}); its instances are being replaced elsewhere.", ("node", node.Name))));
            else if (node.State == NodeState.Suspect)
                holding.Add(("suspect/" + node.Name, options.SuspectFor, since => New("NodeSuspect", "warning", since, $"Node {node.Name} is late",
                    $"{node.Name}'s heartbeats have been late since {since:HH:mm:ss} UTC (φ {phi}); no new work goes there.", ("node", node.Name))));
        }
        foreach (var service in services.Where(s => s.Running < s.Desired))
        {
            holding.Add(("degraded/" + service.Name, options.DegradedFor, since => New("ServiceDegraded", "warning", since,
                $"Service {service.Name} runs {service.Running} of {service.Desired} instances",
                $"{service.Name} has run fewer instances than it asks for since {since:HH:mm:ss} UTC.", ("service", service.Name))));
        }

        foreach (var gone in _pendingSince.Keys.Except(holding.Select(h => h.Key)).ToList()) _pendingSince.Remove(gone);
        var firing = new List<Alert>();
        foreach (var (key, duration, make) in holding)
        {
            if (!_pendingSince.TryGetValue(key, out var since)) _pendingSince[key] = since = now;
            if (now - since >= duration) firing.Add(make(since));
        }
        return firing;
    }

    private static Alert New(string name, string severity, DateTimeOffset since, string summary, string description, (string Name, string Value) subject) =>
        new(new Dictionary<string, string>(StringComparer.Ordinal) { ["alertname"] = name, ["severity"] = severity, [subject.Name] = subject.Value },
            new Dictionary<string, string>(StringComparer.Ordinal) { ["summary"] = summary, ["description"] = description }, since);
}
