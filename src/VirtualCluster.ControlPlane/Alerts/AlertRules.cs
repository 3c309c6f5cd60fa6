using System.Globalization;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.Monitoring.Alerts;

namespace VirtualCluster.ControlPlane.Alerts;

/// <summary>
/// The built-in rules, each a condition over the leader's view and how long it must hold:
/// <c>NodeDown</c> (critical, at once: the failure detector already waited), <c>NodeSuspect</c> (warning, after
/// <see cref="AlertOptions.SuspectFor"/>), <c>ServiceDegraded</c> (warning, fewer running instances than asked
/// for during <see cref="AlertOptions.DegradedFor"/>), <c>FailoverFailed</c> (critical: failed instances no longer
/// replaced), <c>FailoverRetried</c> (warning: a replacement failed again), <c>CapacityRunningOut</c> (warning: the
/// forecast runs out within <see cref="AlertOptions.CapacityHorizon"/>), <c>CertificateExpiring</c> (warning, critical in
/// the last quarter of its window) and <c>SigningKeyRotationOverdue</c> (warning). Keeps when each condition was first
/// seen; not thread-safe (one evaluator calls it).
/// </summary>
internal sealed class AlertRules(AlertOptions options)
{
    private readonly Dictionary<string, DateTimeOffset> _pendingSince = new(StringComparer.Ordinal);

    /// <summary>The alerts whose condition holds now and has held long enough.</summary>
    /// <param name="thresholds">Conditions of the threshold rules that hold now (<see cref="ThresholdRules"/>), judged with the same clock.</param>
    /// <param name="capacity">Resources the cluster's forecast says run out (<c>CapacityRunningOut</c> within <see cref="AlertOptions.CapacityHorizon"/>).</param>
    /// <param name="credentials">Certificates and keys with their dates (<c>CertificateExpiring</c>, <c>SigningKeyRotationOverdue</c>).</param>
    /// <param name="carried">Fingerprints of alerts that were firing before a restart, with when they started: a condition
    /// seen for the first time that makes one of them counts from then, so it keeps firing rather than starting over.</param>
    public List<Alert> Evaluate(IReadOnlyList<AlertNode> nodes, IReadOnlyList<AlertService> services, DateTimeOffset now,
        IEnumerable<(string Key, TimeSpan For, Func<DateTimeOffset, Alert> Make)>? thresholds = null,
        IReadOnlyList<AlertCapacity>? capacity = null, IReadOnlyList<AlertCredential>? credentials = null,
        IReadOnlyDictionary<string, DateTimeOffset>? carried = null)
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

        foreach (var service in services)
        {
            if (service.Failover is { GaveUp: true } gaveUp)
                holding.Add(("failover-failed/" + service.Name, TimeSpan.Zero, since => New("FailoverFailed", "critical", since,
                    $"Service {service.Name}: failover gave up after {gaveUp.Attempts} replacement(s)",
                    $"{service.Name}'s failed instances are no longer replaced (failover maxAttempts reached); last: {gaveUp.LastFailure}. "
                    + $"Fix the spec, then `vcluster rm {service.Name}` and deploy it again.", ("service", service.Name))));
            else if (service.Failover is { Attempts: >= 2 } retried)
                holding.Add(("failover-retried/" + service.Name, TimeSpan.Zero, since => New("FailoverRetried", "warning", since,
                    $"Service {service.Name}: {retried.Attempts} failed instances replaced in a row",
                    $"A replacement of {service.Name} failed again; last: {retried.LastFailure}. It resolves once the service has run healthy for a minute.",
                    ("service", service.Name))));
        }
        foreach (var resource in capacity ?? [])
        {
            if (resource.ExhaustedAt - now > options.CapacityHorizon) continue;
            holding.Add(("capacity/" + resource.Resource, TimeSpan.Zero, since => New("CapacityRunningOut", "warning", since,
                $"The cluster runs out of {resource.Resource} around {resource.ExhaustedAt:yyyy-MM-dd HH:mm} UTC",
                $"Use of {resource.Resource} rises by {resource.TrendPerHour.ToString("0.##", CultureInfo.InvariantCulture)} per hour "
                + $"({resource.Used} of {resource.Capacity} now); add a node or lower what runs (GET /v1/capacity).", ("resource", resource.Resource))));
        }
        foreach (var credential in credentials ?? [])
        {
            if (credential.Kind == "certificate" && credential.Due - now <= credential.Window)
            {
                var severity = credential.Due - now <= credential.Window / 4 ? "critical" : "warning";
                var when = credential.Due <= now ? $"expired at {credential.Due:yyyy-MM-dd HH:mm} UTC" : $"expires at {credential.Due:yyyy-MM-dd HH:mm} UTC";
                holding.Add(($"certificate/{credential.Name}/{severity}", TimeSpan.Zero, since => New("CertificateExpiring", severity, since,
                    $"The {credential.Name} certificate {when}",
                    $"{char.ToUpperInvariant(credential.What[0])}{credential.What[1..]} {when}; replace it before then (docs/SECURITY.md, TLS).",
                    ("certificate", credential.Name))));
            }
            else if (credential.Kind == "signing-key" && now >= credential.Due)
            {
                holding.Add(("signing-key/" + credential.Name, TimeSpan.Zero, since => New("SigningKeyRotationOverdue", "warning", since,
                    $"Token signing key {credential.Name} was not rotated on time",
                    $"The {credential.What} is past its rotation age; rotation is failing (see the control plane's log), `vcluster keys rotate` tries again.",
                    ("key", credential.Name))));
            }
        }

        foreach (var gone in _pendingSince.Keys.Except(holding.Select(h => h.Key)).ToList()) _pendingSince.Remove(gone);
        var firing = new List<Alert>();
        foreach (var (key, duration, make) in holding)
        {
            if (!_pendingSince.TryGetValue(key, out var since))
            {
                since = now;
                // An alert that fired before a restart keeps its start, so it neither waits its duration again nor is notified twice.
                if (carried is { Count: > 0 } && carried.TryGetValue(make(now).Fingerprint, out var started) && started <= now) since = started;
                _pendingSince[key] = since;
            }
            if (now - since >= duration) firing.Add(make(since));
        }
        return firing;
    }

    private static Alert New(string name, string severity, DateTimeOffset since, string summary, string description, (string Name, string Value) subject) =>
        new(new Dictionary<string, string>(StringComparer.Ordinal) { ["alertname"] = name, ["severity"] = severity, [subject.Name] = subject.Value },
            new Dictionary<string, string>(StringComparer.Ordinal) { ["summary"] = summary, ["description"] = description }, since);
}
