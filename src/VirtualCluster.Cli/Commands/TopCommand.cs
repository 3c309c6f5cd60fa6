using System.CommandLine;
using System.Globalization;
using VirtualCluster.Api;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli.Commands;

/// <summary>
/// <c>vcluster top [nodes|services]</c>: the busiest nodes (measured CPU and memory, what is reserved, instances) or services
/// (what their running instances use as their agents measured it, and reserve; restarts; where they run), sorted, redrawn every --interval.
/// </summary>
internal static class TopCommand
{
    private static readonly string[] NodeSorts = ["cpu", "memory", "allocated", "instances", "name"];
    private static readonly string[] ServiceSorts = ["cpu", "memory", "restarts", "instances", "name"];

    public static Command Create(CommandRunner runner)
    {
        var what = new Argument<string>("what") { Description = "nodes (default) or services.", DefaultValueFactory = _ => "nodes" };
        what.AcceptOnlyFromAmong("nodes", "services");
        var sort = new Option<string>("--sort", "-s") { Description = "Sort by cpu (default), memory, allocated (nodes), restarts (services), instances or name.", DefaultValueFactory = _ => "cpu" };
        var limit = new Option<int>("--limit", "-n") { Description = "Rows to show (default 20; 0: all).", DefaultValueFactory = _ => 20 };
        var interval = new Option<string>("--interval") { Description = "Time between two redraws (default 2s).", DefaultValueFactory = _ => "2s" };
        var count = new Option<int>("--count") { Description = "Stop after this many redraws (default 0: until Ctrl+C; 1: once, for scripts)." };
        var output = GlobalOptions.CreateOutputOption();
        var command = new Command("top", "The busiest nodes or services, sorted and redrawn until Ctrl+C.");
        command.Arguments.Add(what);
        foreach (var option in new Option[] { sort, limit, interval, count, output }) command.Options.Add(option);
        command.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var context = runner.Context;
            var nodes = parseResult.GetValue(what) != "services";
            var by = parseResult.GetValue(sort) ?? "cpu";
            if (!(nodes ? NodeSorts : ServiceSorts).Contains(by))
                throw new CliException(ExitCodes.BadInput, $"--sort {by} does not apply to {(nodes ? "nodes" : "services")}; use one of {string.Join(", ", nodes ? NodeSorts : ServiceSorts)}");
            if (parseResult.GetValue(limit) < 0) throw new CliException(ExitCodes.BadInput, "--limit must be 0 (all) or more");
            if (!Duration.TryParse(parseResult.GetValue(interval), out var every) || every < TimeSpan.FromMilliseconds(100))
                throw new CliException(ExitCodes.BadInput, $"--interval \"{parseResult.GetValue(interval)}\" is not a duration of at least 100ms, e.g. 2s");
            if (parseResult.GetValue(count) < 0) throw new CliException(ExitCodes.BadInput, "--count must be 0 (until Ctrl+C) or more");
            var json = parseResult.GetValue(output) == "json";
            var rows = parseResult.GetValue(limit) is > 0 and var n ? n : int.MaxValue;
            for (var drawn = 1; ; drawn++)
            {
                var status = await client.GetStatusAsync(ct);
                if (json)
                {
                    if (nodes) JsonOutput.Write(context.Out, SortNodes(status.Nodes, by).Take(rows).ToList());
                    else JsonOutput.Write(context.Out, SortServices(status.Services, by).Take(rows).ToList());
                }
                else
                {
                    if (context.IsInteractive) context.Out.Write("\u001b[H\u001b[2J");
                    else if (drawn > 1) context.Out.WriteLine();
                    context.Out.WriteLine($"vcluster top {(nodes ? "nodes" : "services")} at {DateTimeOffset.UtcNow:HH:mm:ss} UTC, by {by}, every {Duration.Format(every)} (Ctrl+C to stop)");
                    context.Out.WriteLine(Summary(status));
                    if (nodes) context.OutConsole.Write(TopTables.Nodes(SortNodes(status.Nodes, by).Take(rows)));
                    else context.OutConsole.Write(TopTables.Services(SortServices(status.Services, by).Take(rows)));
                }
                if (parseResult.GetValue(count) is > 0 and var max && drawn >= max) return ExitCodes.Ok;
                try { await Task.Delay(every, ct); }
                catch (OperationCanceledException) { return ExitCodes.Ok; }
            }
        }, cancellationToken));
        return command;
    }

    private static string Summary(ClusterStatus status)
    {
        var alive = status.Nodes.Count(n => n.Node.State == NodeState.Alive);
        var capacity = status.Nodes.Where(n => n.Node.State == NodeState.Alive).Aggregate(Resources.Zero, (a, n) => a + n.Node.Capacity);
        var used = status.Nodes.Where(n => n.Node.State == NodeState.Alive).Sum(n => n.Node.Usage.CpuMillicores);
        var memory = status.Nodes.Where(n => n.Node.State == NodeState.Alive).Sum(n => n.Node.Usage.MemoryBytes);
        return string.Create(CultureInfo.InvariantCulture,
            $"nodes {alive} alive of {status.Nodes.Count}; cpu {TopTables.Percent(used, capacity.CpuMillicores)} used; memory {TopTables.Percent(memory, capacity.MemoryBytes)} used; " +
            $"services {status.Services.Count(s => s.Running >= s.Desired)} of {status.Services.Count} at their desired count");
    }

    internal static IEnumerable<NodeView> SortNodes(IEnumerable<NodeView> nodes, string by) => by switch
    {
        "memory" => nodes.OrderByDescending(n => Fraction(n.Node.Usage.MemoryBytes, n.Node.Capacity.MemoryBytes)).ThenBy(n => n.Node.Name, StringComparer.Ordinal),
        "allocated" => nodes.OrderByDescending(n => Fraction(n.Allocated.CpuMillicores, n.Node.Capacity.CpuMillicores)).ThenBy(n => n.Node.Name, StringComparer.Ordinal),
        "instances" => nodes.OrderByDescending(n => n.Instances).ThenBy(n => n.Node.Name, StringComparer.Ordinal),
        "name" => nodes.OrderBy(n => n.Node.Name, StringComparer.Ordinal),
        _ => nodes.OrderByDescending(n => Fraction(n.Node.Usage.CpuMillicores, n.Node.Capacity.CpuMillicores)).ThenBy(n => n.Node.Name, StringComparer.Ordinal),
    };

    internal static IEnumerable<ServiceView> SortServices(IEnumerable<ServiceView> services, string by) => by switch
    {
        "memory" => services.OrderByDescending(s => TopTables.UsedMemory(s) ?? -1).ThenByDescending(s => s.Spec.Resources.MemoryBytes * s.Running)
            .ThenBy(s => s.Spec.Name, StringComparer.Ordinal),
        "restarts" => services.OrderByDescending(TopTables.Restarts).ThenBy(s => s.Spec.Name, StringComparer.Ordinal),
        "instances" => services.OrderByDescending(s => s.Running).ThenBy(s => s.Spec.Name, StringComparer.Ordinal),
        "name" => services.OrderBy(s => s.Spec.Name, StringComparer.Ordinal),
        _ => services.OrderByDescending(s => TopTables.UsedCpu(s) ?? -1).ThenByDescending(s => s.Spec.Resources.CpuMillicores * s.Running)
            .ThenBy(s => s.Spec.Name, StringComparer.Ordinal),
    };

    private static double Fraction(long part, long whole) => whole > 0 ? (double)part / whole : 0;
}
