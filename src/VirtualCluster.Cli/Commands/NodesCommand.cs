using System.CommandLine;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli.Commands;

/// <summary><c>vcluster nodes</c>: the nodes table; <c>vcluster nodes rm &lt;name&gt;</c> removes one and revokes its credential.</summary>
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
        command.Subcommands.Add(Remove(runner));
        return command;
    }

    private static Command Remove(CommandRunner runner)
    {
        var name = new Argument<string>("name") { Description = "The node to remove (its name or id)." };
        var rm = new Command("rm", "Remove a node (admin): its machine credential is revoked within a second on every control plane and what runs there fails over. It can join again only with a join token made afterwards.");
        rm.Arguments.Add(name);
        rm.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var node = await client.RemoveNodeAsync(parseResult.GetRequiredValue(name), ct);
            runner.Context.Out.WriteLine($"removed node {node.Name}: its machine credential is revoked and its instances fail over; " +
                "to let it back, give it a new join token (`vcluster token create --join --uses 1`)");
            return ExitCodes.Ok;
        }, cancellationToken));
        return rm;
    }
}
