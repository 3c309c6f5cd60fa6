using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.Monitoring.Alerts;

namespace VirtualCluster.ControlPlane.Alerts;

/// <summary>
/// Every <see cref="AlertOptions.EvaluationInterval"/> on the leader: evaluates the built-in rules, and for each alert
/// that starts firing or resolves, writes an event (<c>alert.firing</c> / <c>alert.resolved</c>) and notifies the
/// receivers once. Firing alerts are sent to Alertmanager servers again every <see cref="AlertOptions.ResendInterval"/>.
/// A control plane that does not lead evaluates nothing; a new leader starts with no alert and fires what holds.
/// </summary>
public sealed partial class AlertEvaluator(ClusterService cluster, AlertNotifier notifier, AlertRuleSet ruleSet, IOptions<AlertOptions> options, TimeProvider time,
    ILogger<AlertEvaluator> logger, IServiceProvider? services = null) : BackgroundService
{
    /// <summary>Resolved alerts kept for <c>GET /v1/alerts</c>.</summary>
    public const int RecentKept = 100;

    /// <summary>How often the capacity forecast is computed for <c>CapacityRunningOut</c> (it fits a trend per node).</summary>
    internal static readonly TimeSpan ForecastEvery = TimeSpan.FromMinutes(1);

    private readonly AlertRules _rules = new(options.Value);
    private readonly ThresholdRules _thresholds = new();
    private readonly AlertHistory _history = new(cluster);
    private readonly CredentialFacts _credentials = new(services, options.Value, time);
    private IReadOnlyList<AlertCapacity> _capacity = [];
    private DateTimeOffset _forecastAt = DateTimeOffset.MinValue;
    // Alerts that fired before this control plane began leading (read from the store), by fingerprint, with their start.
    private Dictionary<string, DateTimeOffset>? _carried;
    private bool _fileRulesSaved = options.Value.Rules is null;
    private readonly Dictionary<string, Alert> _firing = new(StringComparer.Ordinal);
    private readonly LinkedList<Alert> _recent = new();
    private readonly Lock _gate = new();
    private DateTimeOffset _lastResend;

    /// <summary>The alerts firing now, and the last <see cref="RecentKept"/> that resolved, newest first.</summary>
    public (IReadOnlyList<Alert> Firing, IReadOnlyList<Alert> Resolved) View()
    {
        lock (_gate) return ([.. _firing.Values.OrderBy(a => a.StartsAt)], [.. _recent]);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled) return;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.EvaluationInterval, time, stoppingToken);
                if (!_fileRulesSaved)
                {
                    // --alert-rules FILE: written to the store once it answers, so every control plane evaluates them.
                    await ruleSet.SaveAsync(options.Value.Rules!, stoppingToken);
                    _fileRulesSaved = true;
                    Log.RulesLoaded(logger, options.Value.Rules!.Count);
                }
                await EvaluateAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.EvaluationFailed(logger, e.Message); // the store may be away; the next interval tries again
            }
        }
    }

    /// <summary>One evaluation (also run by tests).</summary>
    public async Task EvaluateAsync(CancellationToken ct)
    {
        if (cluster.AlertFacts() is not { } facts || cluster.HistoryFacts() is not { } samples)
        {
            _carried = null; // not leading: read the store again when this control plane leads next
            return;
        }
        var now = time.GetUtcNow();
        if (_carried is null) await LoadHistoryAsync(ct);
        if (now - _forecastAt >= ForecastEvery)
        {
            _capacity = cluster.CapacityFacts();
            _forecastAt = now;
        }
        var thresholds = _thresholds.Holding(await ruleSet.EffectiveAsync(ct), samples.Nodes, samples.Services, now);
        var holding = _rules.Evaluate(facts.Nodes, facts.Services, now, thresholds, _capacity, await _credentials.ReadAsync(ct), _carried)
            .ToDictionary(a => a.Fingerprint, StringComparer.Ordinal);
        List<Alert> started, ended;
        lock (_gate)
        {
            started = [.. holding.Values.Where(a => !_firing.ContainsKey(a.Fingerprint))];
            // A carried alert about a node not heard from yet this term is not judged, as the node itself is not.
            ended = [.. _firing.Values.Where(a => !holding.ContainsKey(a.Fingerprint) && !Unjudged(a, facts))
                .Select(a => a with { EndsAt = now })];
            foreach (var alert in started) _firing[alert.Fingerprint] = alert;
            foreach (var alert in ended)
            {
                _firing.Remove(alert.Fingerprint);
                _recent.AddFirst(alert);
                if (_recent.Count > RecentKept) _recent.RemoveLast();
            }
        }
        foreach (var alert in ended) _carried!.Remove(alert.Fingerprint);
        if (started.Count > 0 || ended.Count > 0)
        {
            List<Alert> firingNow, resolvedNow;
            lock (_gate) (firingNow, resolvedNow) = ([.. _firing.Values], [.. _recent]);
            await _history.SaveAsync(firingNow, resolvedNow, ct);
        }
        foreach (var alert in started)
        {
            Log.Firing(logger, alert.Name, alert.Annotations["summary"]);
            notifier.Notify(alert);
            await cluster.RecordAlertAsync(EventKinds.AlertFiring, alert.Name, $"{alert.Name} firing: {alert.Annotations["summary"]}",
                alert.Labels.GetValueOrDefault("node"), alert.Labels.GetValueOrDefault("service"), ct);
        }
        foreach (var alert in ended)
        {
            Log.Resolved(logger, alert.Name, alert.Annotations["summary"]);
            notifier.Notify(alert);
            await cluster.RecordAlertAsync(EventKinds.AlertResolved, alert.Name, $"{alert.Name} resolved: {alert.Annotations["summary"]}",
                alert.Labels.GetValueOrDefault("node"), alert.Labels.GetValueOrDefault("service"), ct);
        }
        if (now - _lastResend >= options.Value.ResendInterval)
        {
            _lastResend = now;
            List<Alert> still;
            lock (_gate) still = [.. _firing.Values.Where(a => !started.Contains(a))];
            foreach (var alert in still) notifier.NotifyAlertmanagers(alert);
        }
    }

    /// <summary>Firing and resolved alerts from the store, as this control plane begins to lead (or starts).</summary>
    private async Task LoadHistoryAsync(CancellationToken ct)
    {
        var (firing, resolved) = await _history.LoadAsync(ct);
        lock (_gate)
        {
            _firing.Clear();
            foreach (var alert in firing) _firing[alert.Fingerprint] = alert;
            _recent.Clear();
            foreach (var alert in resolved.OrderByDescending(a => a.EndsAt).Take(RecentKept)) _recent.AddLast(alert);
        }
        _carried = firing.ToDictionary(a => a.Fingerprint, a => a.StartsAt, StringComparer.Ordinal);
        if (firing.Count + resolved.Count > 0) Log.HistoryLoaded(logger, firing.Count, resolved.Count);
    }

    private static bool Unjudged(Alert alert, AlertFactSet facts) =>
        alert.Labels.TryGetValue("node", out var node) && facts.Unjudged.Contains(node);

    private static partial class Log
    {
        [LoggerMessage(8115, LogLevel.Information, "Alert history read from the cluster store: {Firing} firing, {Resolved} resolved")]
        public static partial void HistoryLoaded(ILogger logger, int firing, int resolved);

        [LoggerMessage(8111, LogLevel.Warning, "Alert {Alert} firing: {Summary}")]
        public static partial void Firing(ILogger logger, string alert, string summary);

        [LoggerMessage(8112, LogLevel.Information, "Alert {Alert} resolved: {Summary}")]
        public static partial void Resolved(ILogger logger, string alert, string summary);

        [LoggerMessage(8114, LogLevel.Information, "Alert rules from --alert-rules written to the cluster store: {Count} rule(s)")]
        public static partial void RulesLoaded(ILogger logger, int count);

        [LoggerMessage(8113, LogLevel.Warning, "Could not evaluate the alert rules: {Reason}; trying again at the next interval")]
        public static partial void EvaluationFailed(ILogger logger, string reason);
    }
}
