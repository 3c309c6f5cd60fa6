using System.CommandLine;
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
        return command;
    }
}
