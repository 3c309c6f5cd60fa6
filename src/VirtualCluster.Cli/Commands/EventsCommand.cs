using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using VirtualCluster.Cli.Http;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli.Commands;

/// <summary>
/// <c>vcluster events</c>: the event log, filtered, newest last; <c>--follow</c> keeps printing new events.
/// With <c>--service</c> it ends with the service's failover timelines (detected → placed → started → healthy).
/// </summary>
internal static class EventsCommand
{
    public const int DefaultLimit = 50;
    private const int PageSize = 1000;
    private static readonly TimeSpan FollowInterval = TimeSpan.FromSeconds(1);

    public static Command Create(CommandRunner runner)
    {
        var service = new Option<string?>("--service") { Description = "Only events about this service and its instances.", HelpName = "name" };
        var node = new Option<string?>("--node") { Description = "Only events about this node and the instances on it.", HelpName = "name" };
        var kind = new Option<string?>("--kind") { Description = "Only this kind (node.down) or family (node).", HelpName = "kind" };
        var since = new Option<DateTimeOffset?>("--since")
        {
            Description = "Only events after this: a duration back from now (10m, 2h) or a time (2026-01-02T15:04:05Z).",
            HelpName = "when",
            CustomParser = ParseSince,
        };
        var limit = new Option<int>("--limit")
        {
            Description = $"Show at most this many of the newest matching events (default {DefaultLimit}).",
            HelpName = "count",
            DefaultValueFactory = _ => DefaultLimit,
            CustomParser = ParseLimit,
        };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new events until interrupted." };
        var output = GlobalOptions.CreateOutputOption();
        var command = new Command("events", "Show the event log: node failures, failovers, drains, instance state changes.")
        {
            service, node, kind, since, limit, follow, output,
        };
        command.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var context = runner.Context;
            var json = parseResult.GetValue(output) == "json";
            var query = new EventQuery
            {
                Service = parseResult.GetValue(service),
                Node = parseResult.GetValue(node),
                Kind = parseResult.GetValue(kind),
                Since = parseResult.GetValue(since),
                Limit = PageSize,
            };
            var (events, last) = await NewestAsync(client, query, parseResult.GetValue(limit), ct);
            var following = parseResult.GetValue(follow);
            if (json && !following) JsonOutput.Write(context.Out, events);
            else if (json) foreach (var e in events) context.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(e, Api.VirtualClusterJson.Options));
            else if (events.Count == 0 && !following) context.Out.WriteLine("no matching events");
            else foreach (var e in events) context.Out.WriteLine(Line(e));

            if (!json && query.Service is { } name && !following) await PrintTimelinesAsync(context, client, name, events, ct);
            if (!following) return ExitCodes.Ok;
            try
            {
                while (true)
                {
                    await Task.Delay(FollowInterval, ct);
                    foreach (var e in await client.GetEventsAsync(query with { AfterSequence = last }, ct))
                    {
                        context.Out.WriteLine(json ? System.Text.Json.JsonSerializer.Serialize(e, Api.VirtualClusterJson.Options) : Line(e));
                        last = e.Sequence;
                    }
                    context.Out.Flush();
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return ExitCodes.Ok; // Ctrl+C ends --follow
            }
        }, cancellationToken));
        return command;
    }

    /// <summary>One event per line: UTC time with milliseconds, kind, subject, message.</summary>
    public static string Line(ClusterEvent e) =>
        $"{e.Timestamp.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)}  {e.Kind,-20} {e.Subject,-16} {e.Message}";

    /// <summary>Pages through the matching events and keeps the newest <paramref name="limit"/>; also returns the last sequence seen.</summary>
    private static async Task<(List<ClusterEvent> Events, long Last)> NewestAsync(ControlPlaneClient client, EventQuery query, int limit, CancellationToken ct)
    {
        var kept = new Queue<ClusterEvent>();
        var after = query.AfterSequence;
        while (true)
        {
            var page = await client.GetEventsAsync(query with { AfterSequence = after }, ct);
            foreach (var e in page)
            {
                kept.Enqueue(e);
                if (kept.Count > limit) kept.Dequeue();
            }
            if (page.Count > 0) after = page[^1].Sequence;
            if (page.Count < query.Limit) return ([.. kept], after);
        }
    }

    /// <summary>For each incident in which the service was failed over: detection, then each replacement's placed, started and healthy times.</summary>
    private static async Task PrintTimelinesAsync(CliContext context, ControlPlaneClient client, string service, IReadOnlyList<ClusterEvent> events, CancellationToken ct)
    {
        var ids = events.Select(e => e.Incident).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        if (ids.Count == 0) return;
        var incidentEvents = new List<ClusterEvent>();
        foreach (var id in ids) incidentEvents.AddRange((await NewestAsync(client, new EventQuery { Incident = id, Limit = PageSize }, int.MaxValue, ct)).Events);
        var incidents = IncidentTimeline.Build(incidentEvents)
            .Select(i => i with { Recoveries = i.Recoveries.Where(r => r.Service == service).ToList() })
            .Where(i => i.Recoveries.Count > 0)
            .ToList();
        if (incidents.Count == 0) return;
        context.Out.WriteLine();
        context.Out.WriteLine($"Failover timeline of {service} (times after detection)");
        foreach (var incident in incidents)
        {
            context.Out.WriteLine($"  {incident.Id}  {incident.Cause} {incident.Subject}, detected {Line(incident.DetectedAt)}: {incident.Message}");
            foreach (var r in incident.Recoveries)
            {
                var steps = new List<string> { $"placed {After(incident.DetectedAt, r.PlacedAt)}" };
                steps.Add(r.StartedAt is { } started ? $"started {After(incident.DetectedAt, started)}" : "not started yet");
                steps.Add(r.HealthyAt is { } healthy ? $"healthy {After(incident.DetectedAt, healthy)}" : "not healthy yet");
                context.Out.WriteLine($"    {r.Instance} on {r.Node ?? "?"}: {string.Join(" → ", steps)}");
            }
            if (incident.RecoveredAt is { } done) context.Out.WriteLine($"    recovered {After(incident.DetectedAt, done)} after detection");
        }
    }

    private static string Line(DateTimeOffset at) => at.ToUniversalTime().ToString("HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string After(DateTimeOffset from, DateTimeOffset to) =>
        "+" + (to - from).TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + "s";

    private static DateTimeOffset? ParseSince(ArgumentResult result)
    {
        if (result.Tokens.Count == 0) return null;
        var text = result.Tokens[0].Value;
        if (Duration.TryParse(text, out var back)) return DateTimeOffset.UtcNow - back;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)) return at;
        result.AddError($"invalid --since '{text}': use a duration back from now such as 10m or 2h, or a time such as 2026-01-02T15:04:05Z");
        return null;
    }

    private static int ParseLimit(ArgumentResult result)
    {
        if (result.Tokens.Count == 0) return DefaultLimit;
        var text = result.Tokens[0].Value;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count >= 1) return count;
        result.AddError($"invalid --limit '{text}': use a whole number, at least 1");
        return DefaultLimit;
    }
}
