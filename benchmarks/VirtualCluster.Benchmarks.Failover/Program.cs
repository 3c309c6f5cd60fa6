using System.CommandLine;
using VirtualCluster.Benchmarks.Failover;

// Failover benchmarks (not run by ./test.sh; see docs/benchmarks.md):
//   failover  - seconds from kill -9 of a machine to its singleton answering HTTP on another node
//   detector  - false positives and detection time on synthetic heartbeat traces, ours vs Akka.NET's
var root = new RootCommand("VirtualCluster failover benchmarks.");

var runs = new Option<int>("--runs") { Description = "Kill/recover runs (at least 1).", DefaultValueFactory = _ => 12 };
var spec = new Option<string?>("--spec")
{
    Description = "Spec file of the workload to fail over (renamed bench, one replica), e.g. samples/specs/busybox.json for the Docker driver; default HelloService on the process driver.",
};
var failover = new Command("failover", "Time from kill -9 of the machine running a singleton to the service answering elsewhere.") { runs, spec };
failover.SetAction(async (parse, _) =>
{
    if (parse.GetValue(runs) < 1) { Console.Error.WriteLine("error: --runs must be at least 1"); return 2; }
    if (parse.GetValue(spec) is { } file && !File.Exists(file)) { Console.Error.WriteLine($"error: --spec {file} does not exist"); return 2; }
    var (host, hello) = (Paths.Built("VirtualCluster.Host.Console", "VirtualCluster.Host.Console.dll"), Paths.Built("HelloService", "HelloService.dll"));
    return await FailoverTime.RunAsync(Console.Out, host, hello, parse.GetValue(runs), parse.GetValue(spec));
});

var hours = new Option<int>("--hours") { Description = "Hours of heartbeats per trace for false positives.", DefaultValueFactory = _ => 24 };
var crashes = new Option<int>("--crashes") { Description = "Crash trials per trace for detection time.", DefaultValueFactory = _ => 500 };
var seed = new Option<int>("--seed") { Description = "Random seed (same seed, same traces).", DefaultValueFactory = _ => 42 };
var detector = new Command("detector", "Detector quality on synthetic traces: ours and Akka.NET's fed the same heartbeats.") { hours, crashes, seed };
detector.SetAction(parse =>
{
    if (parse.GetValue(hours) < 1 || parse.GetValue(crashes) < 1) { Console.Error.WriteLine("error: --hours and --crashes must be at least 1"); return 2; }
    return DetectorQuality.Run(Console.Out, parse.GetValue(hours), parse.GetValue(crashes), parse.GetValue(seed));
});

root.Subcommands.Add(failover);
root.Subcommands.Add(detector);
return await root.Parse(args).InvokeAsync();

/// <summary>Where the programs the failover run starts were built.</summary>
internal static class Paths
{
    public static string Built(string project, string file)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Name;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "artifacts", "bin", project, configuration, file);
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException($"{file} is not built; run `dotnet build VirtualCluster.Sdk.sln -c {configuration}` first");
    }
}
