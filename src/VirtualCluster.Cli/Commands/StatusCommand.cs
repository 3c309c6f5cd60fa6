using System.CommandLine;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli.Commands;

/// <summary><c>vcluster status</c>: nodes and services in one view.</summary>
internal static class StatusCommand
{
    public static Command Create(CommandRunner runner)
    {
        var output = GlobalOptions.CreateOutputOption();
        var command = new Command("status", "Show the cluster: nodes with their capacity and use, services with their instances.");
        command.Options.Add(output);
        command.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var status = await client.GetStatusAsync(ct);
            var context = runner.Context;
            if (parseResult.GetValue(output) == "json")
            {
                JsonOutput.Write(context.Out, status);
                return ExitCodes.Ok;
            }

            context.Out.WriteLine("Nodes (alloc: reserved by instances; used: measured by the agents)");
            if (status.Nodes.Count == 0) context.Out.WriteLine("  no nodes have joined");
            else context.OutConsole.Write(Tables.Nodes(status.Nodes));
            foreach (var line in SharedMachines.Lines(status.Nodes)) context.Out.WriteLine(line);
            context.Out.WriteLine();
            context.Out.WriteLine("Services");
            if (status.Services.Count == 0) context.Out.WriteLine("  no services deployed");
            else context.OutConsole.Write(Tables.Services(status.Services));
            var pending = status.Services.SelectMany(s => (s.Pending ?? []).Where(p => p is not null).Select(p => (s.Spec.Name, Work: p))).ToList();
            if (pending.Count > 0)
            {
                context.Out.WriteLine();
                context.Out.WriteLine("Pending work");
                foreach (var (service, work) in pending) context.Out.WriteLine($"  {service}: {Format.Pending(work, DateTimeOffset.UtcNow)}");
            }
            if (status.Capacity is { } capacity) SchedulingTables.WriteCapacity(context, capacity);
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }
}
