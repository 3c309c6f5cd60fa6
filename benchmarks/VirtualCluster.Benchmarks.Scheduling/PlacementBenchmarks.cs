using BenchmarkDotNet.Attributes;

namespace VirtualCluster.Benchmarks.Scheduling;

/// <summary>
/// One placement (and its release, so the cluster stays half full) with every filter and scorer, round-robin over
/// twenty mixed services; against two references in the same run: the previous best-fit scheduler and the
/// pipeline rebuilding its state per request (what the control plane does on each deploy).
/// </summary>
[MemoryDiagnoser]
public class PlacementBenchmarks
{
    private const int Specs = 20;
    private PipelineScheduler _scheduler = null!;
    private ClusterState _state = null!;
    private List<ServiceSpec> _specs = null!;
    private List<NodeCandidate> _candidates = null!;
    private readonly BestFitScheduler _bestFit = new();

    /// <summary>Cluster size.</summary>
    [Params(100, 1_000, 10_000)]
    public int Nodes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _scheduler = new PipelineScheduler(new VirtualCluster.Scheduling.SchedulerOptions { ReportScores = false });
        _specs = Workloads.Services();
        (_state, _candidates) = Workloads.Filled(_scheduler, Nodes, _specs, 0.5);
    }

    /// <summary>Twenty placements on the kept state, each released again.</summary>
    [Benchmark(OperationsPerInvoke = Specs)]
    public void PipelineOnState()
    {
        foreach (var spec in _specs) ThroughputHarness.PlaceAndRelease(_scheduler, _state, spec);
    }

    /// <summary>Twenty placements through <see cref="IScheduler.Place"/>, which builds the state from the candidates each time.</summary>
    [Benchmark(OperationsPerInvoke = Specs)]
    public int PipelinePerRequest()
    {
        var placed = 0;
        foreach (var spec in _specs) placed += _scheduler.Place(new PlacementRequest(spec, 1, _candidates)).Placements.Count;
        return placed;
    }

    /// <summary>Reference: the previous best-fit scheduler (CPU and memory only, no scorers but best fit).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Specs)]
    public int BestFitReference()
    {
        var placed = 0;
        foreach (var spec in _specs) placed += _bestFit.Place(new PlacementRequest(spec, 1, _candidates)).Placements.Count;
        return placed;
    }
}

/// <summary>10,000 instances (twenty services × 500) on 10,000 empty nodes, per batch algorithm.</summary>
[MemoryDiagnoser]
public class BatchBenchmarks
{
    private PipelineScheduler _scheduler = null!;
    private List<NodeCandidate> _nodes = null!;
    private List<BatchItem> _items = null!;

    /// <summary>Batch algorithm.</summary>
    [Params(BatchAlgorithm.Pipeline, BatchAlgorithm.FirstFitDecreasing, BatchAlgorithm.DotProduct)]
    public BatchAlgorithm Algorithm { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _scheduler = new PipelineScheduler(new VirtualCluster.Scheduling.SchedulerOptions { ReportScores = false });
        _nodes = Workloads.Cluster(10_000);
        _items = [.. Workloads.Services().Select(s => new BatchItem(s, 500))];
    }

    [Benchmark]
    public int Place() => BatchPlacer.Place(_scheduler, _scheduler.CreateState(_nodes), _items, Algorithm).NodesUsed;
}
