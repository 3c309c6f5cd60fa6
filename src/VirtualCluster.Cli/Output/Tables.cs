using Spectre.Console;
using Spectre.Console.Rendering;
using VirtualCluster.Api;
using VirtualCluster.Scheduling;

namespace VirtualCluster.Cli.Output;

/// <summary>The tables vcluster prints. Cells are plain <see cref="Text"/>, so names with brackets are never read as markup.</summary>
internal static class Tables
{
    public static Table Nodes(IReadOnlyList<NodeView> nodes)
    {
        var table = Create("NAME", "STATE", "ADDRESS", "CPU CAP", "CPU ALLOC", "CPU USED", "MEM CAP", "MEM ALLOC", "MEM USED", "INSTANCES");
        foreach (var (column, index) in table.Columns.Select((c, i) => (c, i)))
            if (index >= 3) column.RightAligned();
        foreach (var view in nodes.OrderBy(v => v.Node.Name, StringComparer.Ordinal))
        {
            var node = view.Node;
            AddRow(table,
                node.Name,
                Format.Name(node.State),
                node.Address,
                Quantity.FormatCpu(node.Capacity.CpuMillicores),
                Quantity.FormatCpu(view.Allocated.CpuMillicores),
                Quantity.FormatCpu(node.Usage.CpuMillicores),
                Quantity.FormatBytes(node.Capacity.MemoryBytes),
                Quantity.FormatBytes(view.Allocated.MemoryBytes),
                Quantity.FormatBytes(node.Usage.MemoryBytes),
                view.Instances.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        return table;
    }

    public static Table Services(IReadOnlyList<ServiceView> services)
    {
        var table = Create("NAME", "DRIVER", "DESIRED", "RUNNING", "URL", "INSTANCES");
        table.Columns[2].RightAligned();
        table.Columns[3].RightAligned();
        foreach (var view in services.OrderBy(v => v.Spec.Name, StringComparer.Ordinal))
        {
            var instances = view.Instances.Count == 0
                ? "-"
                : string.Join('\n', view.Instances.Select(i => $"{i.Instance.Id} on {i.NodeName} ({Format.StateWithReason(i.Instance)})"));
            AddRow(table,
                view.Spec.Name,
                view.Spec.Driver,
                view.Desired.ToString(System.Globalization.CultureInfo.InvariantCulture),
                view.Running.ToString(System.Globalization.CultureInfo.InvariantCulture),
                string.Join('\n', new[] { view.Url }.Concat(view.Domains?.Select(d => d.Url) ?? []).OfType<string>().DefaultIfEmpty("-")),
                instances);
        }
        return table;
    }

    /// <summary>Running instances with where to reach them.</summary>
    public static Table Instances(IEnumerable<InstanceView> instances)
    {
        var table = Create("INSTANCE", "NODE", "URLS");
        foreach (var view in instances)
            AddRow(table, view.Instance.Id, view.NodeName, view.Urls.Count == 0 ? "-" : string.Join('\n', view.Urls));
        return table;
    }

    /// <summary>Instances of a draining node and where each stands.</summary>
    public static Table Drain(DrainStatus status)
    {
        var table = Create("INSTANCE", "SERVICE", "STATUS", "DETAIL");
        foreach (var item in status.Instances.Where(i => i is not null)) AddRow(table, item.InstanceId, item.Service, item.Status, item.Detail);
        return table;
    }

    /// <summary>Why a deploy did not fit, one row per dimension that ran out.</summary>
    public static Table Shortfalls(PlacementFailure failure)
    {
        var table = Create("RESOURCE", "NEEDED PER INSTANCE", "LARGEST FREE", "ON NODE", "NODES LACKING");
        foreach (var s in failure.Shortfalls.Where(s => s is not null))
        {
            AddRow(table,
                s.Resource,
                Format.Amount(s.Resource, s.Requested),
                Format.Amount(s.Resource, s.LargestFree),
                s.LargestFreeNode ?? "-",
                $"{s.NodesLacking} of {failure.NodesConsidered}");
        }
        return table;
    }

    public static Table Users(IReadOnlyList<UserView> users)
    {
        var table = Create("NAME", "ROLE", "CREATED");
        foreach (var user in users.OrderBy(u => u.Name, StringComparer.Ordinal))
            AddRow(table, user.Name, user.Role, user.CreatedAt.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", System.Globalization.CultureInfo.InvariantCulture));
        return table;
    }

    public static Table JoinTokens(IReadOnlyList<JoinTokenView> tokens)
    {
        static string Time(DateTimeOffset? t) => t is { } v ? v.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture) : "never";
        var table = Create("ID", "EXPIRES", "USED", "STATE", "DESCRIPTION");
        foreach (var t in tokens)
            AddRow(table, t.Id, Time(t.ExpiresAt), t.UsesAllowed is { } allowed ? $"{t.Used}/{allowed}" : $"{t.Used}",
                t.Revoked ? "revoked" : t.UsesAllowed is { } max && t.Used >= max ? "used up" : "active", t.Description ?? "");
        return table;
    }

    public static Table Keys(TokenKeysResponse keys)
    {
        static string Time(DateTimeOffset? t) => t is { } v ? v.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture) : "-";
        var table = Create("KID", "STATE", "CREATED", "RETIRES", "HERE");
        foreach (var k in keys.Keys)
            AddRow(table, k.Kid, k.State, Time(k.Created), Time(k.RetireAfter), k.Here ? "*" : "");
        return table;
    }

    public static Table Alerts(AlertsResponse alerts)
    {
        static string Time(DateTimeOffset? t) => t is { } v ? v.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", System.Globalization.CultureInfo.InvariantCulture) : "-";
        var table = Create("STATUS", "ALERT", "SEVERITY", "SUMMARY", "SINCE", "ENDED");
        foreach (var a in alerts.Firing.Concat(alerts.Resolved))
            AddRow(table, a.Status, a.Name, a.Severity, a.Summary, Time(a.StartsAt), Time(a.EndsAt));
        return table;
    }

    public static Table AlertRules(AlertRulesResponse rules)
    {
        var table = Create("RULE", "SOURCE", "WHEN", "FOR", "SEVERITY", "MATCH", "ENABLED");
        foreach (var (r, source) in rules.Rules.Select(v => (v.Rule, v.Source)))
            AddRow(table, r.Name, source, $"{r.Scope} {r.Metric} {r.Operator} {r.Threshold.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
                r.For.ToString("c", System.Globalization.CultureInfo.InvariantCulture), r.Severity, r.Match is { Count: > 0 } m ? string.Join(",", m) : "all", r.Enabled ? "yes" : "no");
        return table;
    }

    private static Table Create(params string[] headers)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var header in headers) table.AddColumn(new TableColumn(new Text(header)));
        return table;
    }

    private static void AddRow(Table table, params string[] cells) =>
        table.AddRow(cells.Select(c => (IRenderable)new Text(c ?? "")).ToArray());
}
