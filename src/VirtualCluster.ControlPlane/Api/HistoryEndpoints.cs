using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.Monitoring.History;

namespace VirtualCluster.ControlPlane.Api;

/// <summary>
/// <c>GET /v1/metrics</c> (what history is kept) and <c>GET /v1/metrics/{nodes|services}/{name}/{metric}?range=1h&amp;step=1m&amp;end=...</c>
/// (one metric's points), for viewers.
/// </summary>
internal static class HistoryEndpoints
{
    private static readonly string[] Known = ["range", "step", "end"];
    private static readonly TimeSpan DefaultRange = TimeSpan.FromHours(1);
    private const int DefaultPoints = 120;

    public static void MapHistory(this RouteGroupBuilder viewer)
    {
        viewer.MapGet("/metrics", (MetricsHistory history) => ApiResults.Json(new HistoryCatalog(ClusterService.NodeHistoryMetrics, ClusterService.ServiceHistoryMetrics,
            [.. history.Tiers.Select(t => new HistoryResolution(t.Name, (int)t.Step.TotalSeconds, (long)t.Retention.TotalSeconds))])));
        viewer.MapGet("/metrics/nodes/{name}/{metric}", (string name, string metric, HttpRequest request, ClusterService cluster, MetricsHistory history, TimeProvider time, CancellationToken ct) =>
            QueryAsync("node", name, metric, ClusterService.NodeHistoryMetrics, request, cluster, history, time, ct));
        viewer.MapGet("/metrics/services/{name}/{metric}", (string name, string metric, HttpRequest request, ClusterService cluster, MetricsHistory history, TimeProvider time, CancellationToken ct) =>
            QueryAsync("service", name, metric, ClusterService.ServiceHistoryMetrics, request, cluster, history, time, ct));
    }

    private static async Task<IResult> QueryAsync(string kind, string name, string metric, string[] metrics, HttpRequest request, ClusterService cluster,
        MetricsHistory history, TimeProvider time, CancellationToken ct)
    {
        if (!metrics.Contains(metric))
            return ApiResults.Error(400, $"metric \"{Clip(metric)}\" is not kept for a {kind}; use one of {string.Join(", ", metrics)}");
        if (kind == "node" && await cluster.HistoryNodeNameAsync(name, ct) is { } nodeName) name = nodeName;
        else if (kind == "node" || await cluster.GetServiceViewAsync(name, ct) is null)
            return ApiResults.Error(404, kind == "node"
                ? $"no node named \"{Clip(name)}\"; `vcluster nodes` lists them"
                : $"no service named \"{Clip(name)}\"; `vcluster services` lists the deployed ones");
        var (range, error) = Read(request.Query, time);
        if (error is not null) return ApiResults.Error(400, error);
        var (from, to, step) = range;
        if (history.CheckRange(from, to, step) is { } problem) return ApiResults.Error(400, problem);
        return ApiResults.Json(await history.QueryAsync($"{kind}/{name}", metric, from, to, step, ct));
    }

    private static ((DateTimeOffset From, DateTimeOffset To, TimeSpan Step), string?) Read(IQueryCollection query, TimeProvider time)
    {
        if (query.Keys.FirstOrDefault(k => !Known.Contains(k)) is { } unknown)
            return (default, $"unknown parameter \"{Clip(unknown)}\"; use {string.Join(", ", Known)}");
        var range = DefaultRange;
        if (query.TryGetValue("range", out var r) && !TryDuration(r.ToString(), out range))
            return (default, "range must be a duration like 30m, 1h or 7d");
        var end = time.GetUtcNow();
        if (query.TryGetValue("end", out var e))
        {
            if (long.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out var unix) && unix < 100_000_000_000)
                end = DateTimeOffset.FromUnixTimeSeconds(unix);
            else if (!DateTimeOffset.TryParse(e, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out end))
                return (default, "end must be a time like 2026-01-02T15:04:05Z or Unix seconds");
        }
        if (range <= TimeSpan.Zero) return (default, "range must be positive, like 1h");
        var step = TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(range.TotalSeconds / DefaultPoints)));
        if (query.TryGetValue("step", out var s) && !TryDuration(s.ToString(), out step))
            return (default, "step must be a duration like 10s, 1m or 15m");
        return ((end - range, end, step), null);
    }

    // "90s", "30m", "1h", "7d": whole numbers only, at most six digits
    internal static bool TryDuration(string text, out TimeSpan duration)
    {
        duration = default;
        if (text.Length is < 2 or > 7 || !int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return false;
        duration = text[^1] switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            _ => TimeSpan.MinValue,
        };
        return duration != TimeSpan.MinValue;
    }

    private static string Clip(string text) => text.Length <= 64 ? text : text[..64] + "...";
}
