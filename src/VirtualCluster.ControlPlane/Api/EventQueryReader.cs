using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace VirtualCluster.ControlPlane.Api;

/// <summary>Reads GET /v1/events query parameters into an <see cref="EventQuery"/>, with one clear error per bad value.</summary>
internal static partial class EventQueryReader
{
    private static readonly string[] Known = ["after", "limit", "service", "node", "kind", "since", "incident"];

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{0,63}$")]
    private static partial Regex KindPattern();

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^inc-[0-9a-f]{1,32}$")]
    private static partial Regex IncidentPattern();

    public static (EventQuery? Query, string? Error) Read(IQueryCollection parameters)
    {
        if (parameters.Keys.FirstOrDefault(k => !Known.Contains(k)) is { } unknown)
            return (null, $"unknown parameter \"{unknown}\"; use {string.Join(", ", Known)}");
        var query = new EventQuery();
        if (parameters.TryGetValue("after", out var after))
        {
            if (!long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out var from))
                return (null, "after must be a non-negative event sequence number");
            query = query with { AfterSequence = from };
        }
        if (parameters.TryGetValue("limit", out var limit))
        {
            if (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count is < 1 or > EventQuery.MaxLimit)
                return (null, $"limit must be a whole number from 1 to {EventQuery.MaxLimit}");
            query = query with { Limit = count };
        }
        if (parameters.TryGetValue("service", out var service))
        {
            if (!NamePattern().IsMatch(service.ToString())) return (null, "service must be a service name like \"hello\"");
            query = query with { Service = service.ToString() };
        }
        if (parameters.TryGetValue("node", out var node))
        {
            if (!NamePattern().IsMatch(node.ToString())) return (null, "node must be a node name like \"node-1\"");
            query = query with { Node = node.ToString() };
        }
        if (parameters.TryGetValue("kind", out var kind))
        {
            if (!KindPattern().IsMatch(kind.ToString())) return (null, "kind must be an event kind like \"node.down\", or a family like \"node\"");
            query = query with { Kind = kind.ToString() };
        }
        if (parameters.TryGetValue("incident", out var incident))
        {
            if (!IncidentPattern().IsMatch(incident.ToString())) return (null, "incident must be an incident id like \"inc-1a2b3c4d\"");
            query = query with { Incident = incident.ToString() };
        }
        if (parameters.TryGetValue("since", out var since))
        {
            if (!DateTimeOffset.TryParse(since, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
                return (null, "since must be a time like 2026-01-02T15:04:05Z");
            query = query with { Since = at };
        }
        return (query, null);
    }
}
