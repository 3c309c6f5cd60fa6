using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

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
            // A parser rather than a validator: validators also run after a failed conversion and would throw.
            CustomParser = ParseTail,
        };

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

    private static int ParseTail(ArgumentResult result)
    {
        if (result.Tokens.Count == 0) return DefaultTail;
        var text = result.Tokens[0].Value;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var lines) && lines >= 1) return lines;
        result.AddError($"invalid --tail '{text}': use a whole number of lines, at least 1");
        return DefaultTail;
    }
}
