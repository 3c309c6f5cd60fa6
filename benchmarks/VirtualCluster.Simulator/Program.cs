using System.Globalization;
using VirtualCluster.Simulator.Engine;
using VirtualCluster.Simulator.Scenarios;

// vcsim SCENARIO.json [--seed N] [--log FILE]: runs the scenario and prints invariants, placement quality, failover
// timelines and the event log's hash. Exit code 0 when every invariant held, 1 when one broke, 2 on bad input,
// 3 when the simulation itself stopped (a control-plane call that could not run as simulated).
const string Usage = "usage: VirtualCluster.Simulator SCENARIO.json [--seed N] [--log FILE]\n"
    + "  --seed N    seed for every random draw (default: the scenario's seed)\n"
    + "  --log FILE  write the event log there ('-' for standard output)";

string? path = null, logPath = null;
int? seed = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--seed" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var s):
            seed = s;
            i++;
            break;
        case "--seed":
            return Fail("--seed needs a whole number, e.g. --seed 42");
        case "--log" when i + 1 < args.Length:
            logPath = args[++i];
            break;
        case "--log":
            return Fail("--log needs a file name, or '-' for standard output");
        case "-h" or "--help":
            Console.WriteLine(Usage);
            return 0;
        default:
            if (args[i].StartsWith('-') || path is not null) return Fail($"unknown argument \"{args[i]}\"");
            path = args[i];
            break;
    }
}
if (path is null) return Fail("name a scenario file, e.g. Scenarios/ci-small.json");
string json;
try
{
    json = File.ReadAllText(path);
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
{
    return Fail($"cannot read scenario {path}: {e.Message}");
}
var (settings, errors) = ScenarioLoader.Load(json, seed);
if (settings is null) return Fail($"scenario {path} has {errors.Count} problem(s):\n  " + string.Join("\n  ", errors));

TextWriter? log = null;
try
{
    log = logPath switch { null => null, "-" => Console.Out, _ => new StreamWriter(logPath) };
    var report = new Simulation(settings, log).Run();
    report.Print(logPath == "-" ? Console.Error : Console.Out);
    return report.AllHeld ? 0 : 1;
}
catch (IOException e)
{
    return Fail($"cannot write the event log {logPath}: {e.Message}");
}
catch (Exception e) when (e is InvalidOperationException or ArgumentException)
{
    Console.Error.WriteLine($"error: the simulation stopped: {e.Message}");
    return 3;
}
finally
{
    if (log is not null && !ReferenceEquals(log, Console.Out)) log.Dispose();
}

static int Fail(string message)
{
    Console.Error.WriteLine("error: " + message);
    Console.Error.WriteLine(Usage);
    return 2;
}
