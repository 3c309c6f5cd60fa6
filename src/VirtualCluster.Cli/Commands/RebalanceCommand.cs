using System.CommandLine;
using System.Globalization;
using VirtualCluster.Api;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli.Commands;

/// <summary><c>vcluster rebalance [--dry-run] [--max-moves N]</c>: even out node utilization by moving a few instances.</summary>
internal static class RebalanceCommand
{
    public const int DefaultMoves = 5;
    public const int MaxMoves = 100;

    public static Command Create(CommandRunner runner)
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "Only show the plan; move nothing." };
        var maxMoves = new Option<int>("--max-moves")
        {
            Description = $"Disruption budget: the most instances moved (default {DefaultMoves}, at most {MaxMoves}).",
            HelpName = "count",
            DefaultValueFactory = _ => DefaultMoves,
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= MaxMoves) return value;
                result.AddError($"--max-moves must be a whole number from 0 to {MaxMoves}, not \"{text}\"");
                return DefaultMoves;
            },
        };
        var output = GlobalOptions.CreateOutputOption();
        var command = new Command("rebalance",
            "Move instances from the fullest nodes to the emptiest (e.g. after a node joins). Each move starts a new instance and stops the old one once the new one runs.");
        command.Options.Add(dryRun);
        command.Options.Add(maxMoves);
        command.Options.Add(output);
        command.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var dry = parseResult.GetValue(dryRun);
            var response = await client.RebalanceAsync(new RebalanceRequest(dry, parseResult.GetValue(maxMoves)), ct);
            var context = runner.Context;
            if (parseResult.GetValue(output) == "json")
            {
                JsonOutput.Write(context.Out, response);
                return ExitCodes.Ok;
            }
            var plan = response.Plan;
            context.Out.WriteLine(plan.Summary);
            if (plan.Moves.Count == 0) return ExitCodes.Ok;
            context.OutConsole.Write(SchedulingTables.Moves(plan));
            if (dry) context.Out.WriteLine("dry run: nothing was moved; run without --dry-run to apply");
            else if (response.Applied)
                context.Out.WriteLine($"started {response.NewInstances.Count} move(s): new instances {string.Join(", ", response.NewInstances)}; the old ones stop once these run");
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }
}
