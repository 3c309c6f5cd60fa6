using System.CommandLine;
using VirtualCluster.Api;
using VirtualCluster.Cli.Http;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli.Commands;

/// <summary><c>vcluster status [--watch]</c>: nodes and services in one view, redrawn in place while watching.</summary>
internal static class StatusCommand
{
    // Sparklines are fetched per node: a handful of requests per redraw, not hundreds.
    private const int MaxSparklineNodes = 12;

    public static Command Create(CommandRunner runner)
    {
        var output = GlobalOptions.CreateOutputOption();
        var watch = new Option<bool>("--watch", "-w") { Description = "Redraw every --interval until Ctrl+C, with each node's CPU and memory of the last 10 minutes as sparklines." };
        var interval = new Option<string>("--interval") { Description = "Time between two redraws while watching (default 2s).", DefaultValueFactory = _ => "2s" };
        var count = new Option<int>("--count") { Description = "Stop after this many redraws while watching (default 0: until Ctrl+C)." };
        var command = new Command("status", "Show the cluster: nodes with their capacity and use, services with their instances.");
        command.Options.Add(output);
        command.Options.Add(watch);
        command.Options.Add(interval);
        command.Options.Add(count);
        command.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var context = runner.Context;
            if (!parseResult.GetValue(watch))
            {
                var status = await client.GetStatusAsync(ct);
                if (parseResult.GetValue(output) == "json") JsonOutput.Write(context.Out, status);
                else Write(context, status);
                return ExitCodes.Ok;
            }
            if (!Duration.TryParse(parseResult.GetValue(interval), out var every) || every < TimeSpan.FromMilliseconds(100))
                throw new CliException(ExitCodes.BadInput, $"--interval \"{parseResult.GetValue(interval)}\" is not a duration of at least 100ms, e.g. 2s");
            if (parseResult.GetValue(count) < 0) throw new CliException(ExitCodes.BadInput, "--count must be 0 (until Ctrl+C) or more");
            if (parseResult.GetValue(output) == "json") throw new CliException(ExitCodes.BadInput, "--watch draws tables; for JSON run `vcluster status -o json` repeatedly");
            for (var drawn = 1; ; drawn++)
            {
                var status = await client.GetStatusAsync(ct);
                var sparklines = await SparklinesAsync(client, status, ct);
                // a terminal is cleared and redrawn from the top; a pipe or file gets one view after another
                if (context.IsInteractive) context.Out.Write("\u001b[H\u001b[2J");
                else if (drawn > 1) context.Out.WriteLine();
                context.Out.WriteLine($"vcluster status at {DateTimeOffset.UtcNow:HH:mm:ss} UTC, every {Duration.Format(every)} (Ctrl+C to stop)");
                Write(context, status);
                if (sparklines.Count > 0)
                {
                    context.Out.WriteLine();
                    context.Out.WriteLine("Last 10 minutes (from the control plane's history)");
                    foreach (var line in sparklines) context.Out.WriteLine($"  {line}");
                }
                if (parseResult.GetValue(count) is > 0 and var max && drawn >= max) return ExitCodes.Ok;
                try { await Task.Delay(every, ct); }
                catch (OperationCanceledException) { return ExitCodes.Ok; }
            }
        }, cancellationToken));
        return command;
    }

    private static void Write(CliContext context, ClusterStatus status)
    {
        context.Out.WriteLine("Nodes (alloc: reserved by instances; used: measured by the agents)");
        if (status.Nodes.Count == 0) context.Out.WriteLine("  no nodes have joined");
        else context.OutConsole.Write(Tables.Nodes(status.Nodes));
        foreach (var line in SharedMachines.Lines(status.Nodes)) context.Out.WriteLine(line);
        context.Out.WriteLine();
        context.Out.WriteLine("Services");
        if (status.Services.Count == 0) context.Out.WriteLine("  no services deployed");
        else context.OutConsole.Write(Tables.Services(status.Services));
        if (ReplicaTables.Any(status.Services))
        {
            context.Out.WriteLine();
            context.Out.WriteLine("Replicated volumes (lag: seconds of writes a loss of the node would lose now)");
            context.OutConsole.Write(ReplicaTables.Replicas(status.Services, DateTimeOffset.UtcNow));
        }
        var pending = status.Services.SelectMany(s => (s.Pending ?? []).Where(p => p is not null).Select(p => (s.Spec.Name, Work: p))).ToList();
        if (pending.Count > 0)
        {
            context.Out.WriteLine();
            context.Out.WriteLine("Pending work");
            foreach (var (service, work) in pending) context.Out.WriteLine($"  {service}: {Format.Pending(work, DateTimeOffset.UtcNow)}");
        }
        if (status.Capacity is { } capacity) SchedulingTables.WriteCapacity(context, capacity);
    }

    // "node-1  cpu ▂▃▅▇ 41%  memory ▃▃▃▃ 22%" per node; a control plane without history (older, or not leading yet) gives none
    private static async Task<List<string>> SparklinesAsync(ControlPlaneClient client, ClusterStatus status, CancellationToken ct)
    {
        var lines = new List<string>();
        var nodes = status.Nodes.Where(n => n.Node.State != NodeState.Left).Take(MaxSparklineNodes).ToList();
        var width = nodes.Count == 0 ? 0 : nodes.Max(n => n.Node.Name.Length);
        foreach (var node in nodes)
        {
            try
            {
                var cpu = await client.HistoryAsync("nodes", node.Node.Name, "cpu", "10m", "20s", ct);
                var memory = await client.HistoryAsync("nodes", node.Node.Name, "memory", "10m", "20s", ct);
                lines.Add($"{node.Node.Name.PadRight(width)}  cpu {HistoryCommand.Spark(cpu)}  memory {HistoryCommand.Spark(memory)}");
            }
            catch (ApiException)
            {
                return []; // no history on this control plane: the tables alone
            }
        }
        return lines;
    }
}
