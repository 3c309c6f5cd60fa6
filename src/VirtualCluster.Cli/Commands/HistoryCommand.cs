using System.CommandLine;
using System.Globalization;
using System.Text;
using VirtualCluster.Api;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli.Commands;

/// <summary><c>vcluster history node|service NAME [METRIC] [--range 1h] [--step 1m]</c>: a metric's stored history as a sparkline.</summary>
internal static class HistoryCommand
{
    private const string Bars = "▁▂▃▄▅▆▇█";

    public static Command Create(CommandRunner runner)
    {
        var kind = new Argument<string>("kind") { Description = "node or service" };
        kind.AcceptOnlyFromAmong("node", "service");
        var name = new Argument<string>("name") { Description = "The node's or the service's name" };
        var metric = new Argument<string?>("metric")
        {
            Description = "node: cpu, memory, disk, cpu_allocated, memory_allocated, instances, phi (default cpu); service: desired, running, restarts (default running)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var range = new Option<string>("--range") { Description = "How far back: 30m, 1h, 7d, up to 31d (default 1h)", DefaultValueFactory = _ => "1h" };
        var step = new Option<string?>("--step") { Description = "Time between points: 10s, 1m, 15m (default: the range in about 120 points)" };
        var output = GlobalOptions.CreateOutputOption();
        var command = new Command("history", "A node's or a service's metric over time, kept by the control plane across restarts (10-second points for an hour, 1-minute for a day, 15-minute for a month).");
        command.Arguments.Add(kind);
        command.Arguments.Add(name);
        command.Arguments.Add(metric);
        command.Options.Add(range);
        command.Options.Add(step);
        command.Options.Add(output);
        command.SetAction((parseResult, cancellationToken) => runner.RunAsync(parseResult, async (client, ct) =>
        {
            var k = parseResult.GetValue(kind)!;
            var m = parseResult.GetValue(metric) ?? (k == "node" ? "cpu" : "running");
            var history = await client.HistoryAsync(k + "s", parseResult.GetValue(name)!, m, parseResult.GetValue(range)!, parseResult.GetValue(step), ct);
            if (parseResult.GetValue(output) == "json")
            {
                JsonOutput.Write(runner.Context.Out, history);
                return ExitCodes.Ok;
            }
            runner.Context.Out.WriteLine(Render(history));
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    /// <summary>Title, sparkline of the averages, and min / average / max / last.</summary>
    internal static string Render(HistoryResponse history)
    {
        var text = new StringBuilder();
        var percent = history.Metric is "cpu" or "memory" or "disk" or "cpu_allocated" or "memory_allocated";
        string Show(double v) => percent ? $"{v * 100:0.#}%" : v.ToString("0.##", CultureInfo.InvariantCulture);
        text.Append(CultureInfo.InvariantCulture, $"{history.Series} {history.Metric}: {history.From:yyyy-MM-dd HH:mm} to {history.To:HH:mm} UTC, ");
        text.Append(CultureInfo.InvariantCulture, $"{history.StepSeconds}s steps (stored at {history.Resolution})");
        if (history.Points.Count == 0)
        {
            text.AppendLine().Append("no samples in this range yet (the control plane samples every 10 seconds while it leads)");
            return text.ToString();
        }
        var values = history.Points.Select(p => p.Average).ToList();
        var (min, max) = (values.Min(), values.Max());
        text.AppendLine().Append(Sparkline(values, min, max)).AppendLine();
        text.Append(CultureInfo.InvariantCulture, $"min {Show(min)}  avg {Show(values.Average())}  max {Show(history.Points.Max(p => p.Max))}  last {Show(values[^1])}  ({values.Count} points)");
        return text.ToString();
    }

    /// <summary>A sparkline of the averages and the last value ("no data" when there is none), scaled 0-100 % for fractions.</summary>
    internal static string Spark(HistoryResponse history)
    {
        if (history.Points.Count == 0) return "(no samples yet)";
        var values = history.Points.Select(p => p.Average).ToList();
        var percent = history.Metric is "cpu" or "memory" or "disk" or "cpu_allocated" or "memory_allocated";
        var line = percent ? Sparkline(values, 0, 1) : Sparkline(values, values.Min(), values.Max());
        return $"{line} {(percent ? $"{values[^1] * 100:0}%" : values[^1].ToString("0.##", CultureInfo.InvariantCulture))}";
    }

    private static string Sparkline(IReadOnlyList<double> values, double min, double max)
    {
        var line = new StringBuilder(values.Count);
        foreach (var v in values)
            line.Append(max - min < 1e-12 ? Bars[Bars.Length / 2] : Bars[(int)Math.Round(Math.Clamp((v - min) / (max - min), 0, 1) * (Bars.Length - 1))]);
        return line.ToString();
    }
}
