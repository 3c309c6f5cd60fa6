using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Output;

/// <summary>Custom domains: whether each points at a gateway (verified) and whether it has its certificate yet.</summary>
internal static class DomainTables
{
    /// <summary>True when some service names custom domains.</summary>
    public static bool Any(IEnumerable<ServiceView> services) => services.Any(s => s.Domains is { Count: > 0 });

    public static Table Domains(IEnumerable<ServiceView> services)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var header in new[] { "SERVICE", "DOMAIN", "VERIFIED", "CERTIFICATE", "DETAIL" })
            table.AddColumn(new TableColumn(new Text(header)));
        foreach (var service in services.OrderBy(s => s.Spec.Name, StringComparer.Ordinal))
            foreach (var d in service.Domains ?? [])
                table.AddRow(new IRenderable[]
                {
                    new Text(service.Spec.Name), new Text(d.Name), new Text(d.Verified ? "yes" : "no"),
                    new Text(d.CertificateNotAfter is { } until ? string.Create(CultureInfo.InvariantCulture, $"until {until.ToUniversalTime():yyyy-MM-dd HH:mm} UTC") : "none yet"),
                    new Text(d.Problem ?? (d.Verified && d.CertificateNotAfter is null ? "verified; a gateway is ordering its certificate" : "-")),
                });
        return table;
    }
}
