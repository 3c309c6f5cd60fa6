using System.Text.Json.Nodes;

namespace VirtualCluster.Monitoring.Alerts;

/// <summary>The two wire formats: Alertmanager's webhook notification, and the alert list its API takes.</summary>
internal static class AlertPayloads
{
    // Alertmanager's "not ended yet".
    private const string ZeroTime = "0001-01-01T00:00:00Z";

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Alertmanager's webhook format (version 4) for one alert: what an Alertmanager sends to its receivers, so any
    /// receiver written for Alertmanager takes it.
    /// </summary>
    public static string Webhook(Alert alert, string receiver, string? externalUrl) => new JsonObject
    {
        ["version"] = "4",
        ["groupKey"] = $"{{}}:{{alertname=\"{alert.Name}\",fingerprint=\"{alert.Fingerprint}\"}}",
        ["truncatedAlerts"] = 0,
        ["status"] = alert.Status,
        ["receiver"] = receiver,
        ["groupLabels"] = new JsonObject { ["alertname"] = alert.Name },
        ["commonLabels"] = Map(alert.Labels),
        ["commonAnnotations"] = Map(alert.Annotations),
        ["externalURL"] = externalUrl ?? "",
        ["alerts"] = new JsonArray(new JsonObject
        {
            ["status"] = alert.Status,
            ["labels"] = Map(alert.Labels),
            ["annotations"] = Map(alert.Annotations),
            ["startsAt"] = Time(alert.StartsAt),
            ["endsAt"] = alert.EndsAt is { } ended ? Time(ended) : ZeroTime,
            ["generatorURL"] = externalUrl ?? "",
            ["fingerprint"] = alert.Fingerprint,
        }),
    }.ToJsonString();

    /// <summary>The body of Alertmanager's <c>POST /api/v2/alerts</c>: a list of postable alerts (resolved ones carry <c>endsAt</c>).</summary>
    public static string AlertmanagerApi(Alert alert, string? externalUrl)
    {
        var item = new JsonObject
        {
            ["labels"] = Map(alert.Labels),
            ["annotations"] = Map(alert.Annotations),
            ["startsAt"] = Time(alert.StartsAt),
        };
        if (alert.EndsAt is { } ends) item["endsAt"] = Time(ends);
        if (!string.IsNullOrEmpty(externalUrl)) item["generatorURL"] = externalUrl;
        return new JsonArray(item).ToJsonString();
    }

    private static JsonObject Map(IReadOnlyDictionary<string, string> values)
    {
        var map = new JsonObject();
        foreach (var (name, value) in values.OrderBy(v => v.Key, StringComparer.Ordinal)) map[name] = JsonValue.Create(value);
        return map;
    }
}
