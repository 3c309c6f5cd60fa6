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
    // +1: the fused allocation score is C + w·min(a + 3b, 3a + b) (binpack's weights, s = 2w); −1: C − w·max(3a + b, a + 3b)
    // (spread's, s = −2w); 0: neither, only the box and sum bounds apply.
    public int Envelope;
    // 1 / √(2 · Dimensions), for the balanced score's bound.
    public double InvRootTwoDimensions;
    // The level of PlacementIndex.Levels that every node passing the resource and port filters reaches (0 when
    // they do not apply), and its maxima (PlacementIndex.At[Level]).
    public int Level;
    // True when the level keeps this spec's best affinity score among the nodes that reach it (LevelMax.Affinity).
    public bool LevelAffinity;
    // True when the level is the spec's own (its exact request, ports included, and its static verdicts): a node
    // reaches it exactly when it passes the static, resource and port filters.
    public bool OwnLevel;
    public PlacementIndex.LevelMax[] At = [];
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

