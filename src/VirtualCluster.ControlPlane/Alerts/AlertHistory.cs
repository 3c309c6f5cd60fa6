using System.Text.Json;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.Monitoring.Alerts;

namespace VirtualCluster.ControlPlane.Alerts;

/// <summary>
/// The alerts firing and the last resolved ones, kept in the cluster store (setting <c>alert-history</c>) whenever they
/// change, so <c>GET /v1/alerts</c> survives a restart and a new leader neither forgets nor notifies again what fired.
/// </summary>
internal sealed class AlertHistory(ClusterService cluster)
{
    internal const string SettingKey = "alert-history";

    /// <summary>Firing alerts kept at most (a mass outage fires one per node; the rest are rebuilt from the rules).</summary>
    internal const int MaxFiringKept = 1_000;

    private string? _raw;

    public async Task<(List<Alert> Firing, List<Alert> Resolved)> LoadAsync(CancellationToken ct)
    {
        _raw = await cluster.GetSettingAsync(SettingKey, ct);
        if (_raw is null) return ([], []);
        try
        {
            var stored = JsonSerializer.Deserialize<Stored>(_raw);
            return (ToAlerts(stored?.Firing, resolved: false), ToAlerts(stored?.Resolved, resolved: true));
        }
        catch (JsonException)
        {
            return ([], []); // an unreadable record is replaced at the next change; alerts are rebuilt from the rules
        }
    }

    public async Task SaveAsync(IEnumerable<Alert> firing, IEnumerable<Alert> resolved, CancellationToken ct)
    {
        var value = JsonSerializer.Serialize(new Stored([.. firing.Take(MaxFiringKept).Select(ToStored)], [.. resolved.Select(ToStored)]));
        // One leader writes; a stale expectation (another control plane led meanwhile) is read again once.
        if (!await cluster.ReplaceSettingAsync(SettingKey, _raw, value, ct))
            await cluster.ReplaceSettingAsync(SettingKey, await cluster.GetSettingAsync(SettingKey, ct), value, ct);
        _raw = value;
    }

    private static StoredAlert ToStored(Alert a) => new(new(a.Labels, StringComparer.Ordinal), new(a.Annotations, StringComparer.Ordinal), a.StartsAt, a.EndsAt);

    private static List<Alert> ToAlerts(List<StoredAlert>? stored, bool resolved) =>
        [.. (stored ?? []).Where(s => s?.Labels is { Count: > 0 } && s.Annotations is not null && s.Labels.ContainsKey("alertname") && (s.EndsAt is not null) == resolved)
            .Select(s => new Alert(s.Labels, s.Annotations, s.StartsAt, s.EndsAt))];

    private sealed record Stored(List<StoredAlert>? Firing, List<StoredAlert>? Resolved);

    private sealed record StoredAlert(Dictionary<string, string> Labels, Dictionary<string, string> Annotations, DateTimeOffset StartsAt, DateTimeOffset? EndsAt);
}
