using System.CommandLine;

namespace VirtualCluster.Cli.Commands;

/// <summary><c>vcluster logs &lt;service&gt;</c>: recent output of every instance, each line tagged with its instance.</summary>
internal static class LogsCommand
{
    public const int DefaultTail = 100;

    public static Command Create(CommandRunner runner)
    {
        var service = new Argument<string>("service") { Description = "Name of the service." };
        var tail = new Option<int>("--tail")
        {
            Description = "Lines to show per instance, newest last.",
            HelpName = "lines",
            DefaultValueFactory = _ => DefaultTail,
        };
        tail.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1) result.AddError("--tail must be at least 1");
        });

        var command = new Command("logs", "Print recent log lines of a service's instances (\"out|\" stdout, \"err|\" stderr).");
        command.Arguments.Add(service);
        command.Options.Add(tail);
        command.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var name = parseResult.GetRequiredValue(service);
            var logs = await client.GetLogsAsync(name, parseResult.GetValue(tail), ct);
            var context = runner.Context;
            if (logs.Lines.Count == 0)
            {
                // On stderr so that piping the output yields only log lines.
                context.Error.WriteLine($"no log lines for \"{name}\" yet");
                return ExitCodes.Ok;
            }
            foreach (var entry in logs.Lines.Where(l => l?.Line is not null))
            {
                var stream = entry.Line.Stream == "stderr" ? "err" : "out";
                context.Out.WriteLine($"{entry.InstanceId} {stream}| {entry.Line.Text}");
            }
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }
}
