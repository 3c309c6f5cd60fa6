using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Alerts;

/// <summary>
/// Reads threshold alert rules from JSON (<c>{"rules": [...]}</c> or a bare array), as a user sends them: every problem
/// is answered with the field's path and how to fix it, nothing unknown is let through.
/// </summary>
public static partial class AlertRuleReader
{
    /// <summary>Most rules a cluster keeps.</summary>
    public const int MaxRules = 100;

    /// <summary>A node's metrics a rule may compare (fractions of capacity 0-1, counts, φ).</summary>
    public static readonly string[] NodeMetrics = ["cpu", "memory", "disk", "cpu_allocated", "memory_allocated", "instances", "phi", "network_rx", "network_tx"];

    /// <summary>A service's metrics a rule may compare.</summary>
    public static readonly string[] ServiceMetrics = ["running", "desired", "missing", "restarts", "restarts_10m", "cpu_millicores", "memory_bytes"];

    private static readonly string[] Operators = [">", ">=", "<", "<=", "==", "!="];
    private static readonly string[] Severities = ["critical", "warning", "info"];
    private static readonly string[] Fields = ["name", "scope", "metric", "operator", "threshold", "for", "severity", "match", "summary", "enabled"];

    /// <summary>The rules in <paramref name="json"/>, or the first problem found.</summary>
    public static (IReadOnlyList<AlertRuleSpec>? Rules, string? Error) Read(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            return (null, $"the rules are not valid JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in root.EnumerateObject())
                    if (p.Name != "rules") return (null, $"unknown field \"{Clip(p.Name)}\"; the body is {{\"rules\": [...]}}");
                if (!root.TryGetProperty("rules", out root)) return (null, "rules is missing; the body is {\"rules\": [...]} ([] removes every user rule)");
            }
            if (root.ValueKind != JsonValueKind.Array) return (null, "rules must be an array of rules, e.g. [{\"name\": \"NodeCpuHigh\", \"scope\": \"node\", \"metric\": \"cpu\", \"operator\": \">\", \"threshold\": 0.9, \"for\": \"10m\"}]");
            if (root.GetArrayLength() > MaxRules) return (null, $"rules has {root.GetArrayLength()} entries; at most {MaxRules}");
            var rules = new List<AlertRuleSpec>();
            var index = 0;
            foreach (var element in root.EnumerateArray())
            {
                var (rule, error) = ReadRule(element, $"rules[{index++}]");
                if (error is not null) return (null, error);
                if (rules.Any(r => string.Equals(r.Name, rule!.Name, StringComparison.Ordinal)))
                    return (null, $"rules[{index - 1}].name: \"{rule!.Name}\" is used twice; each rule needs its own name");
                rules.Add(rule!);
            }
            return (rules, null);
        }
    }

    private static (AlertRuleSpec?, string?) ReadRule(JsonElement e, string at)
    {
        if (e.ValueKind != JsonValueKind.Object) return (null, $"{at} must be an object with name, scope, metric, operator, threshold and for");
        foreach (var p in e.EnumerateObject())
            if (!Fields.Contains(p.Name)) return (null, $"{at}: unknown field \"{Clip(p.Name)}\"; a rule has {string.Join(", ", Fields)}");
        if (Text(e, "name") is not { } name || !NamePattern().IsMatch(name))
            return (null, $"{at}.name must be letters, digits or '_', starting with a letter, at most 64, e.g. \"NodeCpuHigh\"");
        if (Text(e, "scope") is not ("node" or "service")) return (null, $"{at}.scope must be \"node\" or \"service\"");
        var scope = Text(e, "scope")!;
        var metrics = scope == "node" ? NodeMetrics : ServiceMetrics;
        if (Text(e, "metric") is not { } metric || !metrics.Contains(metric))
            return (null, $"{at}.metric must be one of a {scope}'s metrics: {string.Join(", ", metrics)}");
        if (Text(e, "operator") is not { } op || !Operators.Contains(op))
            return (null, $"{at}.operator must be one of {string.Join(" ", Operators)}");
        if (!e.TryGetProperty("threshold", out var t) || t.ValueKind != JsonValueKind.Number || !t.TryGetDouble(out var threshold) || !double.IsFinite(threshold))
            return (null, $"{at}.threshold must be a number, e.g. 0.9 (a fraction for cpu, memory and disk)");
        if (Text(e, "for") is not { } forText || !TryDuration(forText, out var duration) || duration < TimeSpan.Zero || duration > TimeSpan.FromDays(1))
            return (null, $"{at}.for must be a duration from 0s to 1d, e.g. \"10m\", \"30s\" or \"00:10:00\"");
        var severity = "warning";
        if (e.TryGetProperty("severity", out var s) && (s.ValueKind != JsonValueKind.String || !Severities.Contains(severity = s.GetString()!)))
            return (null, $"{at}.severity must be one of {string.Join(", ", Severities)}");
        List<string>? match = null;
        if (e.TryGetProperty("match", out var m) && m.ValueKind != JsonValueKind.Null)
        {
            if (m.ValueKind != JsonValueKind.Array || m.GetArrayLength() > 1000) return (null, $"{at}.match must be an array of at most 1000 {scope} names");
            match = [];
            foreach (var item in m.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String || !SubjectPattern().IsMatch(item.GetString()!))
                    return (null, $"{at}.match[{match.Count}] must be a {scope} name like \"{(scope == "node" ? "node-1" : "web")}\"");
                match.Add(item.GetString()!);
            }
        }
        string? summary = null;
        if (e.TryGetProperty("summary", out var sum) && sum.ValueKind != JsonValueKind.Null)
        {
            if (sum.ValueKind != JsonValueKind.String || sum.GetString()!.Length > 200 || sum.GetString()!.Any(char.IsControl))
                return (null, $"{at}.summary must be one line of text, at most 200 characters");
            summary = sum.GetString();
        }
        var enabled = true;
        if (e.TryGetProperty("enabled", out var en))
        {
            if (en.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) return (null, $"{at}.enabled must be true or false");
            enabled = en.GetBoolean();
        }
        return (new AlertRuleSpec(name, scope, metric, op, threshold, duration, severity, match, summary, enabled), null);
    }

    private static string? Text(JsonElement e, string field) =>
        e.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    // "10m" as the CLI and the history take, or "00:10:00" as GET /v1/alerts/rules writes it (so a listing can be sent back).
    private static bool TryDuration(string text, out TimeSpan duration) =>
        Api.HistoryEndpoints.TryDuration(text, out duration)
        || (text.Contains(':', StringComparison.Ordinal) && TimeSpan.TryParseExact(text, "c", CultureInfo.InvariantCulture, out duration));

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "...";

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]{0,63}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex SubjectPattern();
}
