using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Cluster;

namespace VirtualCluster.ControlPlane.Alerts;

/// <summary>
/// The threshold rules in effect: the built-in ones, replaced or turned off by user rules of the same name, plus the
/// user's own. User rules live in the cluster store (setting <see cref="SettingKey"/>), so every control plane of an HA
/// cluster evaluates the same ones; each reads them again at most every <see cref="ReloadAfter"/>.
/// </summary>
public sealed class AlertRuleSet(ClusterService cluster, TimeProvider time)
{
    /// <summary>The store setting that holds the user's rules (JSON).</summary>
    public const string SettingKey = "alert-rules";

    /// <summary>How long a control plane goes on with the user rules it read before reading them again.</summary>
    public static readonly TimeSpan ReloadAfter = TimeSpan.FromSeconds(10);

    /// <summary>The built-in threshold rules.</summary>
    public static readonly IReadOnlyList<AlertRuleSpec> BuiltIn =
    [
        new("NodeCpuHigh", "node", "cpu", ">", 0.9, TimeSpan.FromMinutes(10), "warning", Summary: "Node {name} has used {value} of its CPU for 10 minutes"),
        new("NodeMemoryHigh", "node", "memory", ">", 0.9, TimeSpan.FromMinutes(10), "warning", Summary: "Node {name} has used {value} of its memory for 10 minutes"),
        new("NodeDiskHigh", "node", "disk", ">", 0.9, TimeSpan.FromMinutes(10), "warning", Summary: "Node {name} has used {value} of its disk for 10 minutes"),
        new("ServiceRestarting", "service", "restarts_10m", ">=", 3, TimeSpan.Zero, "warning", Summary: "Service {name} restarted {value} times in 10 minutes"),
    ];

    private IReadOnlyList<AlertRuleSpec> _user = [];
    private DateTimeOffset _loadedAt = DateTimeOffset.MinValue;

    /// <summary>The enabled rules to evaluate now.</summary>
    public async Task<IReadOnlyList<AlertRuleSpec>> EffectiveAsync(CancellationToken ct) =>
        [.. (await ViewAsync(ct)).Select(v => v.Rule).Where(r => r.Enabled)];

    /// <summary>Every rule with where it comes from (a disabled one included, so a listing shows what was turned off).</summary>
    public async Task<IReadOnlyList<AlertRuleView>> ViewAsync(CancellationToken ct)
    {
        var user = await UserRulesAsync(ct);
        var names = user.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        return [.. BuiltIn.Where(r => !names.Contains(r.Name)).Select(r => new AlertRuleView(r, "built-in")), .. user.Select(r => new AlertRuleView(r, "user"))];
    }

    /// <summary>Replaces the user's rules (already checked by <see cref="AlertRuleReader"/>).</summary>
    public async Task SaveAsync(IReadOnlyList<AlertRuleSpec> rules, CancellationToken ct)
    {
        var json = JsonSerializer.Serialize(rules, VirtualClusterJson.Options);
        for (var attempt = 0; ; attempt++)
        {
            var current = await cluster.GetSettingAsync(SettingKey, ct);
            if (await cluster.ReplaceSettingAsync(SettingKey, current, json, ct)) break;
            if (attempt == 10) throw new InvalidOperationException("the alert rules changed under too many concurrent writes; send them again");
        }
        _user = rules;
        _loadedAt = time.GetUtcNow();
    }

    private async Task<IReadOnlyList<AlertRuleSpec>> UserRulesAsync(CancellationToken ct)
    {
        if (time.GetUtcNow() - _loadedAt < ReloadAfter) return _user;
        var json = await cluster.GetSettingAsync(SettingKey, ct);
        // Stored rules were checked when they were written; an unreadable value (a newer release's format) keeps the last known.
        if (json is null) _user = [];
        else if (AlertRuleReader.Read(json) is { Rules: { } rules }) _user = rules;
        _loadedAt = time.GetUtcNow();
        return _user;
    }
}
