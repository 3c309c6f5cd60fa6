using BenchmarkDotNet.Running;
using VirtualCluster.Benchmarks.Scheduling;

// quick: Stopwatch throughput only (seconds). throughput: the same, longer. quality: the bin-packing harness
// (with OR-Tools). bdn: BenchmarkDotNet (MemoryDiagnoser), remaining arguments go to its switcher.
var mode = args.Length > 0 ? args[0] : "quick";
switch (mode)
{
    case "quick":
        ThroughputHarness.Run(TimeSpan.FromSeconds(2), Console.Out);
        break;
    case "throughput":
        ThroughputHarness.Run(TimeSpan.FromSeconds(10), Console.Out);
        break;
    case "quality":
        QualityHarness.Run(args.Length > 1 && args[1] == "--quick", Console.Out);
        break;
    case "split":
        SplitHarness.Run(Console.Out);
        break;
    case "hard":
        HardSetHarness.Run(Console.Out, args.Length > 1 ? TimeSpan.FromMilliseconds(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture)) : TimeSpan.FromMilliseconds(100));
        break;
    case "cpsat":
        VirtualCluster.Benchmarks.Scheduling.Quality.CpSatCache.Ensure(VirtualCluster.Benchmarks.Scheduling.Quality.CpSatCache.DefaultPath, args.Contains("--resolve"), Console.Out);
        break;
    case "profile":
        SplitHarness.Loop(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20, args.Contains("runs"), Console.Out);
        break;
    case "bdn":
        BenchmarkSwitcher.FromAssembly(typeof(Workloads).Assembly).Run(args[1..]);
        break;
    default:
        Console.Error.WriteLine("usage: [quick|throughput|split|profile [seconds] [runs]|quality [--quick]|hard|cpsat [--resolve]|bdn [BenchmarkDotNet args]]");
        return 2;
}
return 0;
