using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Output;

/// <summary>The tables of <c>vcluster top</c>.</summary>
internal static class TopTables
{
    public static Table Nodes(IEnumerable<NodeView> nodes)
    {
        var table = Create("NODE", "STATE", "CPU USED", "MEM USED", "CPU ALLOC", "MEM ALLOC", "INSTANCES", "HEARTBEAT");
        foreach (var n in nodes)
        {
            var node = n.Node;
            Add(table, node.Name, Format.Name(node.State), Percent(node.Usage.CpuMillicores, node.Capacity.CpuMillicores),
                Percent(node.Usage.MemoryBytes, node.Capacity.MemoryBytes), Percent(n.Allocated.CpuMillicores, node.Capacity.CpuMillicores),
                Percent(n.Allocated.MemoryBytes, node.Capacity.MemoryBytes), n.Instances.ToString(CultureInfo.InvariantCulture), Ago(node.LastHeartbeat));
        }
        return table;
    }

    public static Table Services(IEnumerable<ServiceView> services)
    {
        var table = Create("SERVICE", "RUNNING", "CPU USED", "MEM USED", "CPU RESERVED", "MEM RESERVED", "RESTARTS", "NODES");
        foreach (var s in services)
        {
            Add(table, s.Spec.Name, $"{s.Running}/{s.Desired}",
                UsedCpu(s) is { } cpu ? Format.Amount("cpu", cpu) : "-", UsedMemory(s) is { } memory ? Format.Amount("memory", memory) : "-",
                Format.Amount("cpu", s.Spec.Resources.CpuMillicores * s.Running),
                Format.Amount("memory", s.Spec.Resources.MemoryBytes * s.Running), Restarts(s).ToString(CultureInfo.InvariantCulture),
                string.Join(",", s.Instances.Select(i => i.NodeName).Distinct().Order(StringComparer.Ordinal)));
        }
        return table;
    }

    public static int Restarts(ServiceView s) => s.Instances.Sum(i => i.Instance.RestartCount);

    /// <summary>CPU the service's instances use together, as their agents measured it; null when none was measured.</summary>
    public static long? UsedCpu(ServiceView s) =>
        s.Instances.Any(i => i.Usage is not null) ? s.Instances.Sum(i => i.Usage?.CpuMillicores ?? 0) : null;

    /// <summary>Resident memory of the service's instances together; null when none was measured.</summary>
    public static long? UsedMemory(ServiceView s) =>
        s.Instances.Any(i => i.Usage is not null) ? s.Instances.Sum(i => i.Usage?.MemoryBytes ?? 0) : null;

    public static string Percent(long part, long whole) =>
        whole > 0 ? (100.0 * part / whole).ToString("0", CultureInfo.InvariantCulture) + "%" : "-";

    private static string Ago(DateTimeOffset? at) => at is { } t
        ? Math.Max(0, (DateTimeOffset.UtcNow - t).TotalSeconds).ToString("0", CultureInfo.InvariantCulture) + "s ago" : "never";

    private static Table Create(params string[] headers)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var header in headers) table.AddColumn(new TableColumn(new Text(header)));
        return table;
    }

    private static void Add(Table table, params string[] cells) => table.AddRow(cells.Select(c => (IRenderable)new Text(c ?? "")).ToArray());
}
