using System.CommandLine;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli.Commands;

/// <summary><c>vcluster nodes</c>: the nodes table.</summary>
internal static class NodesCommand
{
    public static Command Create(CommandRunner runner)
    {
        var output = GlobalOptions.CreateOutputOption();
        var command = new Command("nodes", "List the nodes with their capacity, reservations and use.");
        command.Options.Add(output);
        command.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var nodes = await client.ListNodesAsync(ct);
            var context = runner.Context;
            if (parseResult.GetValue(output) == "json") JsonOutput.Write(context.Out, nodes);
            else if (nodes.Count == 0) context.Out.WriteLine("no nodes have joined");
            else
            {
                context.OutConsole.Write(Tables.Nodes(nodes));
                foreach (var line in SharedMachines.Lines(nodes)) context.Out.WriteLine(line);
            }
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }
}
