namespace VirtualCluster.Scheduling;

/// <summary>
/// Per-placement inputs of the bound: the request, which built-in filters apply, and the weights of the
/// built-in scorers that apply. Null when a stage is not built in (its score cannot be bounded).
/// </summary>
internal sealed class BoundInputs
{
    public long Cpu, Memory, Disk, Gpus;
    public int Ports;
    public bool Resources, ClipShares, Fused;
    public double Constant, SumWeight, DiffWeight, Most, Least, Balanced, Rules, Affinity;
    public int Dimensions;
    // 1 / √(2 · Dimensions), for the balanced score's bound.
    public double InvRootTwoDimensions;
    // Levels of PlacementIndex.Levels that every node passing the resource filter reaches (0 when it does not apply).
    public int CpuLevel, MemLevel;
    // The index's level maxima at those levels (PlacementIndex.CpuAt[CpuLevel], MemAt[MemLevel]).
    public PlacementIndex.LevelMax[] CpuAt = [], MemAt = [];
    public TopologySpread[] Spreads = [];
    public int[][] Counts = [];
    public double[][] DomainScore = [];
    public bool[][] DomainOk = [];
    public double[] MixedScore = [];
    public int[][] NodeDomains = [];
    public double AntiWeight, AntiScale;
    public int[] AntiCounts = [];
    public int[]? AntiRequired;
    // Per tree node, nodes below without a replica (required anti-affinity only; PlacementIndex.WithoutReplica).
    public int[]? WithoutReplica;
    public bool SpreadFilter;
    public double SpreadWeight;
    public IPlacementFilter[] Filters = [];
}

