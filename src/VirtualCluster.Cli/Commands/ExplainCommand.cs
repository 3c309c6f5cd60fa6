using System.CommandLine;
using System.Globalization;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli.Commands;

/// <summary><c>vcluster explain &lt;service&gt;</c>: why the service's instances are where they are, and where one more would go.</summary>
internal static class ExplainCommand
{
    public static Command Create(CommandRunner runner)
    {
        var service = new Argument<string>("service") { Description = "Service name." };
        var output = GlobalOptions.CreateOutputOption();
        var command = new Command("explain", "Explain placement: each instance's node score per scorer, the filters, and where one more instance would go.");
        command.Arguments.Add(service);
        command.Options.Add(output);
        command.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var explanation = await client.ExplainAsync(parseResult.GetRequiredValue(service), ct);
            var context = runner.Context;
            if (parseResult.GetValue(output) == "json")
            {
                JsonOutput.Write(context.Out, explanation);
                return ExitCodes.Ok;
            }

            var next = explanation.NextInstance;
            context.Out.WriteLine($"Service \"{explanation.Service}\", strategy {next.Strategy}");
            context.Out.WriteLine();
            context.Out.WriteLine("Instances");
            if (explanation.Instances.Count == 0) context.Out.WriteLine("  no instances");
            else context.OutConsole.Write(SchedulingTables.Instances(explanation.Instances));
            context.Out.WriteLine();
            context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"One more instance: {next.NodesFeasible} of {next.NodesConsidered} node(s) pass every filter"));
            if (next.Filters.Any(f => f.Removed > 0)) context.OutConsole.Write(SchedulingTables.Filters(next.Filters));
            if (next.Failure is { } failure)
            {
                context.Out.WriteLine(failure.Message);
            }
            else if (next.Ranking.Count > 0)
            {
                context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"It would go to {next.Ranking[0].NodeName} (score {next.Ranking[0].Total:0.0}); best nodes:"));
                context.OutConsole.Write(SchedulingTables.Ranking(next.Ranking));
            }
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }
}
