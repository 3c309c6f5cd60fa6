using System.CommandLine;
using VirtualCluster.Api;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli.Commands;

/// <summary><c>vcluster alerts</c>: what fires now (node down, node suspect, service degraded) and what resolved lately.</summary>
internal static class AlertsCommand
{
    public static Command Create(CommandRunner runner)
    {
        var output = GlobalOptions.CreateOutputOption();
        var command = new Command("alerts", "Alerts firing now, then the ones that resolved lately (newest first).");
        command.Options.Add(output);
        command.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var alerts = await client.AlertsAsync(ct);
            if (parseResult.GetValue(output) == "json")
            {
                JsonOutput.Write(runner.Context.Out, alerts);
                return ExitCodes.Ok;
            }
            if (alerts.Firing.Count == 0 && alerts.Resolved.Count == 0)
            {
                runner.Context.Out.WriteLine("no alerts: every node is alive and every service runs what it asks for");
                return ExitCodes.Ok;
            }
            runner.Context.OutConsole.Write(Tables.Alerts(alerts));
            runner.Context.Out.WriteLine($"{alerts.Firing.Count} firing, {alerts.Resolved.Count} resolved lately");
            return ExitCodes.Ok;
        }, cancellationToken));
        command.Subcommands.Add(Rules(runner));
        return command;
    }

    // vcluster alerts rules [--set FILE]: the threshold rules in effect, or replace the user's rules (admins).
    private static Command Rules(CommandRunner runner)
    {
        var output = GlobalOptions.CreateOutputOption();
        var set = new Option<FileInfo?>("--set") { Description = "JSON file of rules ({\"rules\": [...]}) replacing the user's rules; {\"rules\": []} removes them.", HelpName = "file" };
        var command = new Command("rules", "The threshold alert rules in effect (built-in and the user's), or --set FILE to replace the user's.");
        command.Options.Add(output);
        command.Options.Add(set);
        command.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            AlertRulesResponse rules;
            if (parseResult.GetValue(set) is { } file)
            {
                if (!file.Exists || file.Length > 1 << 20)
                {
                    runner.Context.Error.WriteLine($"error: {file.FullName} {(file.Exists ? "is larger than 1 MiB" : "does not exist")}");
                    return ExitCodes.BadInput;
                }
                rules = await client.SetAlertRulesAsync(await File.ReadAllTextAsync(file.FullName, ct), ct);
            }
            else rules = await client.AlertRulesAsync(ct);
            if (parseResult.GetValue(output) == "json") JsonOutput.Write(runner.Context.Out, rules);
            else runner.Context.OutConsole.Write(Tables.AlertRules(rules));
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }
}
