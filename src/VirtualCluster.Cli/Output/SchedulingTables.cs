using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using VirtualCluster.Api;
using VirtualCluster.Scheduling;

namespace VirtualCluster.Cli.Output;

/// <summary>Tables for placement explanations, rebalance plans and capacity forecasts.</summary>
internal static class SchedulingTables
{
    /// <summary>How many nodes each filter removed, with the dimensions.</summary>
    public static Table Filters(IReadOnlyList<FilterOutcome> filters)
    {
        var table = Create("FILTER", "NODES REMOVED", "WHY");
        table.Columns[1].RightAligned();
        foreach (var f in filters.Where(f => f is not null))
        {
            var why = f.ByDimension is { Count: > 0 }
                ? string.Join(", ", f.ByDimension.OrderByDescending(d => d.Value).ThenBy(d => d.Key, StringComparer.Ordinal).Select(d => $"{d.Key}: {d.Value}"))
                : "-";
            AddRow(table, f.Filter, Number(f.Removed), why);
        }
        return table;
    }

    /// <summary>Nodes with their total score and each scorer's score.</summary>
    public static Table Ranking(IReadOnlyList<NodeScore> ranking)
    {
        var scorers = ranking.SelectMany(r => r.Scorers.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        var table = Create(["NODE", "SCORE", .. scorers.Select(s => s.ToUpperInvariant())]);
        for (var i = 1; i < table.Columns.Count; i++) table.Columns[i].RightAligned();
        foreach (var r in ranking)
            AddRow(table, [r.NodeName, Score(r.Total), .. scorers.Select(s => r.Scorers.TryGetValue(s, out var v) ? Score(v) : "-")]);
        return table;
    }

    /// <summary>Each instance with its node's score at placement and now.</summary>
    public static Table Instances(IReadOnlyList<InstanceScore> instances)
    {
        var table = Create("INSTANCE", "NODE", "STATE", "SCORE AT PLACEMENT", "SCORE NOW", "NOW BY SCORER");
        foreach (var i in instances)
        {
            var byScorer = i.Current is null ? "-"
                : string.Join(", ", i.Current.Scorers.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key} {Score(s.Value)}"));
            AddRow(table, i.InstanceId, i.NodeName, Format.Name(i.State),
                i.ScoreAtPlacement is null ? "-" : Score(i.ScoreAtPlacement.Total),
                i.Current is null ? "-" : Score(i.Current.Total), byScorer);
        }
        return table;
    }

    /// <summary>The moves of a plan.</summary>
    public static Table Moves(RebalancePlan plan)
    {
        var table = Create("INSTANCE", "SERVICE", "FROM", "TO", "GAIN");
        table.Columns[4].RightAligned();
        foreach (var m in plan.Moves)
            AddRow(table, m.InstanceId, m.Service, m.FromNode, m.ToNode, m.Gain.ToString("0.0000", CultureInfo.InvariantCulture));
        return table;
    }

    /// <summary>The "Capacity" section of <c>vcluster status</c>: the cluster row is the sum of the node rows.</summary>
    public static void WriteCapacity(CliContext context, CapacityReport capacity)
    {
        context.Out.WriteLine();
        context.Out.WriteLine("Capacity (allocated: reserved by instances; used: measured by the agents; trend and run-out of used)");
        var table = Create("SCOPE", "RESOURCE", "CAPACITY", "ALLOCATED", "USED", "TREND/HOUR", "RUNS OUT");
        for (var i = 2; i < 6; i++) table.Columns[i].RightAligned();
        AddForecasts(table, "cluster", capacity.Cluster, capacity.At);
        foreach (var node in capacity.Nodes)
            AddForecasts(table, node.NodeName, node.Resources, capacity.At);
        context.OutConsole.Write(table);
        if (capacity.Fits.Count > 0)
        {
            var fits = capacity.Fits.Select(f => $"{f.Service} +{(f.AdditionalInstances >= f.Limit ? Number(f.Limit) + " or more" : Number(f.AdditionalInstances))}");
            context.Out.WriteLine("More instances that fit now: " + string.Join(", ", fits));
        }
    }

    private static void AddForecasts(Table table, string scope, IReadOnlyList<ResourceForecast> forecasts, DateTimeOffset now)
    {
        // GPUs only matter where there are any.
        foreach (var f in forecasts.Where(f => f.Resource != "gpus" || f.Capacity > 0))
        {
            AddRow(table, scope, f.Resource, Format.Amount(f.Resource, f.Capacity), Format.Amount(f.Resource, f.Allocated),
                Format.Amount(f.Resource, f.Used), Trend(f), RunsOut(f, now));
        }
    }

    /// <summary>The slope only when it is clear; otherwise what the forecast could not tell.</summary>
    internal static string Trend(ResourceForecast f) => f.Trend switch
    {
        ForecastTrend.NotEnoughHistory => "-",
        ForecastTrend.Rising or ForecastTrend.Falling =>
            (f.TrendPerHour > 0 ? "+" : "-") + Format.Amount(f.Resource, (long)Math.Round(Math.Abs(f.TrendPerHour))),
        _ => "no clear trend",
    };

    internal static string RunsOut(ResourceForecast f, DateTimeOffset now)
    {
        if (f.Trend == ForecastTrend.NotEnoughHistory)
            return "not enough history yet" + (f.MoreHistoryNeeded is { } more && more > TimeSpan.Zero ? ", " + MoreTime(more) : "");
        if (f.ExhaustedAt is not { } at) return f.Trend == ForecastTrend.Rising ? "not within a century" : "not at this trend";
        var left = at - now;
        return left <= TimeSpan.Zero ? "now" : $"in {Duration.Format(left)} ({at.UtcDateTime:yyyy-MM-dd HH:mm} UTC)";
    }

    /// <summary>"7 more minutes", "1 more minute", "40 more seconds": rounded up, so the wait is never understated.</summary>
    private static string MoreTime(TimeSpan t)
    {
        if (t < TimeSpan.FromMinutes(1))
        {
            var s = (int)Math.Ceiling(t.TotalSeconds);
            return s == 1 ? "1 more second" : $"{s} more seconds";
        }
        var m = (int)Math.Ceiling(t.TotalMinutes);
        return m == 1 ? "1 more minute" : $"{m} more minutes";
    }

    private static string Score(double value) => value.ToString("0.0", CultureInfo.InvariantCulture);

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static Table Create(params string[] headers)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var header in headers) table.AddColumn(new TableColumn(new Text(header)));
        return table;
    }

    private static void AddRow(Table table, params string[] cells) =>
        table.AddRow(cells.Select(c => (IRenderable)new Text(c ?? "")).ToArray());
}
