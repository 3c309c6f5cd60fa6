using System.CommandLine;
using System.Globalization;
using VirtualCluster.Api;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli.Commands;

/// <summary>
/// <c>vcluster rebalance [--dry-run] [--max-moves N]</c>: even out node utilization by moving a few instances;
/// <c>vcluster rebalance --consolidate [--max-moves N] [--apply]</c>: free whole nodes, shown only unless --apply.
/// </summary>
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
        var consolidate = new Option<bool>("--consolidate")
        {
            Description = "Pack instances onto fewer nodes and show which nodes that frees; only shown unless --apply.",
        };
        var apply = new Option<bool>("--apply") { Description = "Start the moves (what a rebalance without --consolidate does anyway)." };
        var output = GlobalOptions.CreateOutputOption();
        var command = new Command("rebalance",
            "Move instances from the fullest nodes to the emptiest (e.g. after a node joins), or with --consolidate onto fewer nodes. Each move starts a new instance and stops the old one once the new one runs.");
        command.Options.Add(dryRun);
        command.Options.Add(maxMoves);
        command.Options.Add(consolidate);
        command.Options.Add(apply);
        command.Options.Add(output);
        command.Validators.Add(result =>
        {
            if (result.GetValue(apply) && result.GetValue(dryRun)) result.AddError("--apply and --dry-run cannot be combined; pick one");
        });
        command.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var packing = parseResult.GetValue(consolidate);
            // Freeing nodes moves many instances, so it is only shown until asked for; evening out applies as before.
            var dry = parseResult.GetValue(dryRun) || (packing && !parseResult.GetValue(apply));
            var response = await client.RebalanceAsync(new RebalanceRequest(dry, parseResult.GetValue(maxMoves), packing), ct);
            var context = runner.Context;
            if (parseResult.GetValue(output) == "json")
            {
                JsonOutput.Write(context.Out, response);
                return ExitCodes.Ok;
            }
            var plan = response.Plan;
            context.Out.WriteLine(plan.Summary);
            if (plan.Moves.Count == 0) return ExitCodes.Ok;
            if (plan.FreedNodes is { Count: > 0 } freed) context.Out.WriteLine("nodes freed: " + string.Join(", ", freed));
            context.OutConsole.Write(SchedulingTables.Moves(plan));
            if (dry)
                context.Out.WriteLine(packing ? "dry run: nothing was moved; add --apply to start these moves" : "dry run: nothing was moved; run without --dry-run to apply");
            else if (response.Applied)
            {
                if (response.NewInstances.Count > 0)
                    context.Out.WriteLine($"started {response.NewInstances.Count} move(s): new instances {string.Join(", ", response.NewInstances)}; the old ones stop once these run");
                if (response.Deferred is { Count: > 0 } later)
                    context.Out.WriteLine($"{later.Count} move(s) wait for room that the started moves free ({string.Join(", ", later)}); run the same command again once those finish");
            }
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }
}
