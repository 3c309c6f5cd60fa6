using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Output;

/// <summary>Replicated volumes: per instance, volume and holder the last completed sync and the lag (what a loss of the node would lose now).</summary>
internal static class ReplicaTables
{
    /// <summary>True when some instance of <paramref name="services"/> has replicated volumes.</summary>
    public static bool Any(IEnumerable<ServiceView> services) => services.Any(s => s.Instances.Any(i => i.Replicas is { Count: > 0 }));

    public static Table Replicas(IEnumerable<ServiceView> services, DateTimeOffset now)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var header in new[] { "INSTANCE", "VOLUME", "HOLDER", "LAST SYNC", "LAG", "BEHIND", "ERROR" })
            table.AddColumn(new TableColumn(new Text(header)));
        table.Columns[4].RightAligned();
        table.Columns[5].RightAligned();
        foreach (var service in services.OrderBy(s => s.Spec.Name, StringComparer.Ordinal))
            foreach (var instance in service.Instances.Where(i => i.Replicas is { Count: > 0 }))
                foreach (var r in instance.Replicas!)
                    table.AddRow(new IRenderable[]
                    {
                        new Text(instance.Instance.Id), new Text(r.Volume), new Text(r.Holder), new Text(LastSync(r, now)),
                        new Text(r.LagSeconds.ToString("0.0 's'", CultureInfo.InvariantCulture)), new Text(Quantity.FormatBytes(r.BytesBehind)),
                        new Text(r.LastError ?? "-"),
                    });
        return table;
    }

    /// <summary>"#42 at 12:03:04 UTC (3.1 s ago)", or "none yet".</summary>
    public static string LastSync(ReplicaView r, DateTimeOffset now) => r.LastSyncAt is { } at && r.Sequence > 0
        ? string.Create(CultureInfo.InvariantCulture, $"#{r.Sequence} at {at.ToUniversalTime():HH:mm:ss} UTC ({Math.Max(0, (now - at).TotalSeconds):0.0} s ago)")
        : "none yet";
}
