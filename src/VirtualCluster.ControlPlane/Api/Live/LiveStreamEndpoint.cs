using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Cluster;

namespace VirtualCluster.ControlPlane.Api.Live;

/// <summary>
/// <c>GET /v1/live?interval=1</c> (viewers): server-sent events for dashboards. <c>status</c> (a <see cref="ClusterStatus"/>) and
/// <c>alerts</c> (an <see cref="AlertsResponse"/>) when they change, <c>events</c> (new <see cref="ClusterEvent"/>s, the last
/// hour's most recent first sent on connect) and <c>ping</c> when nothing else was sent for 15 s, so proxies keep it open.
/// </summary>
internal static class LiveStreamEndpoint
{
    public const int MaxStreams = 64;
    private const int FirstEvents = 100;
    private static readonly TimeSpan Ping = TimeSpan.FromSeconds(15);

    public static void MapLiveStream(this RouteGroupBuilder viewer) => viewer.MapGet("/live", Open);

    private static IResult Open(HttpRequest request, LiveSnapshots snapshots, ClusterService cluster, TimeProvider time)
    {
        var interval = TimeSpan.FromSeconds(1);
        foreach (var key in request.Query.Keys)
            if (key != "interval") return ApiResults.Error(400, $"unknown parameter \"{Clip(key)}\"; /v1/live takes only interval (seconds, 1-60)");
        if (request.Query.TryGetValue("interval", out var text))
        {
            if (!double.TryParse(text.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !(seconds >= 1 && seconds <= 60))
                return ApiResults.Error(400, $"interval must be a number of seconds from 1 to 60, e.g. interval=2 (got \"{Clip(text.ToString())}\")");
            interval = TimeSpan.FromSeconds(seconds);
        }
        // Each stream holds a connection and a loop: a bound keeps a flood of them from exhausting the control plane.
        if (!snapshots.TryOpenStream(MaxStreams))
        {
            return ApiResults.Error(429, $"{MaxStreams} live streams are open already; close a dashboard or poll GET /v1/status instead");
        }
        // Given back when the response ends, however it ends: a client gone before the stream's first step never
        // runs the stream's code, and a place freed only there would leak until every stream is refused.
        request.HttpContext.Response.OnCompleted(() =>
        {
            snapshots.CloseStream();
            return Task.CompletedTask;
        });
        request.HttpContext.Response.Headers["X-Accel-Buffering"] = "no"; // nginx and friends: do not buffer the stream
        return TypedResults.ServerSentEvents(StreamAsync(snapshots, cluster, time, interval, request.HttpContext.RequestAborted));
    }

    private static async IAsyncEnumerable<SseItem<string>> StreamAsync(LiveSnapshots snapshots, ClusterService cluster, TimeProvider time,
        TimeSpan interval, [EnumeratorCancellation] CancellationToken ct)
    {
        {
            string? status = null, alerts = null;
            var start = time.GetUtcNow();
            var recent = await cluster.QueryEventsAsync(new EventQuery { Since = start.AddHours(-1), Limit = EventQuery.MaxLimit }, ct);
            var after = recent.Count > 0 ? recent[^1].Sequence : await LastSequenceAsync(cluster, ct);
            yield return new SseItem<string>(JsonSerializer.Serialize(recent.TakeLast(FirstEvents).ToList(), VirtualClusterJson.Options), "events");
            var lastSent = start;
            using var timer = new PeriodicTimer(interval, time);
            do
            {
                var sent = false;
                var snapshot = await snapshots.GetAsync(ct);
                if (snapshot.Status != status)
                {
                    yield return new SseItem<string>(status = snapshot.Status, "status");
                    sent = true;
                }
                if (snapshot.Alerts != alerts)
                {
                    yield return new SseItem<string>(alerts = snapshot.Alerts, "alerts");
                    sent = true;
                }
                var fresh = await cluster.QueryEventsAsync(new EventQuery { AfterSequence = after, Limit = 500 }, ct);
                if (fresh.Count > 0)
                {
                    after = fresh[^1].Sequence;
                    yield return new SseItem<string>(JsonSerializer.Serialize(fresh, VirtualClusterJson.Options), "events");
                    sent = true;
                }
                if (!sent && time.GetUtcNow() - lastSent >= Ping) yield return new SseItem<string>("{}", "ping");
                if (sent || time.GetUtcNow() - lastSent >= Ping) lastSent = time.GetUtcNow();
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
    }

    // With no event in the last hour, new ones start after the newest there is.
    private static async Task<long> LastSequenceAsync(ClusterService cluster, CancellationToken ct)
    {
        long after = 0;
        while (true)
        {
            var page = await cluster.QueryEventsAsync(new EventQuery { AfterSequence = after, Limit = EventQuery.MaxLimit }, ct);
            if (page.Count == 0) return after;
            after = page[^1].Sequence;
        }
    }

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
