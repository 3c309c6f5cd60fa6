using System.CommandLine;
using VirtualCluster.Api;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli.Commands;

/// <summary>
/// <c>vcluster drain &lt;node&gt;</c>: moves a node's instances elsewhere (start new, wait until healthy, stop old)
/// and, by default, waits until nothing movable is left. <c>--cancel</c> stops a drain.
/// </summary>
internal static class DrainCommand
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    public static Command Create(CommandRunner runner)
    {
        var node = new Argument<string>("node") { Description = "Name of the node to drain." };
        var cancel = new Option<bool>("--cancel") { Description = "Stop draining: the node takes new work again." };
        var noWait = new Option<bool>("--no-wait") { Description = "Return once the drain has started." };
        var timeout = new Option<TimeSpan?>("--timeout")
        {
            Description = $"How long to wait for the drain, e.g. 90s or 10m (default {Duration.Format(DefaultTimeout)}).",
            HelpName = "duration",
            CustomParser = result => Duration.ParseOption(result, DefaultTimeout),
        };
        var output = GlobalOptions.CreateOutputOption();
        var command = new Command("drain", "Move a node's instances to other nodes (new copies start and become healthy before the old ones stop).")
        {
            node, cancel, noWait, timeout, output,
        };
        command.Validators.Add(result =>
        {
            if (result.GetValue(cancel) && result.GetValue(noWait)) result.AddError("--cancel and --no-wait cannot be combined");
        });
        command.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var name = parseResult.GetRequiredValue(node);
            var context = runner.Context;
            if (parseResult.GetValue(cancel))
            {
                await client.CancelDrainAsync(name, ct);
                context.Out.WriteLine($"drain of {name} cancelled; it takes new work again");
                return ExitCodes.Ok;
            }
            var status = await client.DrainAsync(name, ct);
            var json = parseResult.GetValue(output) == "json";
            if (!json) context.Out.WriteLine($"draining {name}: {status.Instances.Count} instance(s) on it");
            if (!parseResult.GetValue(noWait))
                status = await WaitAsync(context, client, name, status, parseResult.GetValue(timeout) ?? DefaultTimeout, json, ct);
            if (json)
            {
                JsonOutput.Write(context.Out, status);
                return status.Complete || parseResult.GetValue(noWait) ? ExitCodes.Ok : ExitCodes.Failed;
            }
            if (status.Instances.Count > 0) context.OutConsole.Write(Tables.Drain(status));
            if (status.Complete)
            {
                var blocked = status.Instances.Count(i => i.Status == "blocked");
                context.Out.WriteLine(blocked == 0
                    ? $"{name} is drained; stop its agent, or `vcluster drain {name} --cancel` to use it again"
                    : $"{name} is drained except {blocked} instance(s) with failover \"never\", which stay");
                return ExitCodes.Ok;
            }
            if (parseResult.GetValue(noWait)) return ExitCodes.Ok;
            context.WriteError($"{name} is not drained yet; `vcluster drain {name}` shows the progress again");
            return ExitCodes.Failed;
        }, cancellationToken));
        return command;
    }

    private static async Task<DrainStatus> WaitAsync(CliContext context, Http.ControlPlaneClient client, string name, DrainStatus status,
        TimeSpan timeout, bool quiet, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = "";
        while (!status.Complete && DateTime.UtcNow < deadline)
        {
            var line = string.Join(", ", status.Instances.GroupBy(i => i.Status).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}"));
            if (!quiet && line != last && line.Length > 0) context.Out.WriteLine($"  {line}");
            last = line;
            await Task.Delay(PollInterval, ct);
            status = await client.GetDrainAsync(name, ct);
        }
        return status;
    }
}
