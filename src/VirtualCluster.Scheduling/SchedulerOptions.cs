namespace VirtualCluster.Scheduling;

/// <summary>Settings of <see cref="PipelineScheduler"/>.</summary>
public sealed class SchedulerOptions
{
    internal static readonly SchedulerOptions Default = new();

    /// <summary>
    /// Count what nodes report as used (<see cref="NodeInfo.Usage"/>) as well as reservations, for memory and disk:
    /// free = capacity − max(allocated, used). Default true.
    /// </summary>
    public bool UseMeasuredUsage { get; set; } = true;

    /// <summary>
    /// Count measured CPU use too (only with <see cref="UseMeasuredUsage"/>). Default false: CPU is compressible,
    /// so a busy moment should not keep work off a node; Kubernetes also schedules CPU on requests only.
    /// </summary>
    public bool CountCpuUsage { get; set; }

    /// <summary>Attach each scorer's score to every <see cref="Placement"/> (a small dictionary per placement). Default true.</summary>
    public bool ReportScores { get; set; } = true;

    /// <summary>
    /// When a kept <see cref="ClusterState"/> indexes its nodes so a placement scores only the nodes that could win
    /// (same choice as scoring every node). Default <see cref="PlacementIndexMode.Auto"/>: from the 16th placement
    /// on a state of at least 2,048 nodes.
    /// </summary>
    public PlacementIndexMode PlacementIndex { get; set; } = PlacementIndexMode.Auto;

    /// <summary>
    /// Share of the nodes (1 to 100 %) a placement looks at before it scores, like Kubernetes'
    /// <c>percentageOfNodesToScore</c>: the filters run over the nodes from where the previous placement stopped,
    /// in turn, until max(<see cref="MinNodesToScore"/>, this share of the nodes) feasible ones are found, and only
    /// those are scored. Default 100: every node (with <see cref="PlacementIndex"/>, the exact best). Lower trades the
    /// exact best for speed: the node chosen always passes every filter, and a placement fails only when no node at
    /// all can take it, but it may not be the best-scoring one. Below 100 the placement index is not used.
    /// </summary>
    public int PercentageOfNodesToScore { get; set; } = 100;

    /// <summary>Fewest feasible nodes a sampled placement scores (see <see cref="PercentageOfNodesToScore"/>). Default 100, at least 1.</summary>
    public int MinNodesToScore { get; set; } = 100;

    /// <summary>Nodes listed in an explanation's ranking. Default 5, from 1 to 1000.</summary>
    public int RankingSize { get; set; } = 5;

    /// <summary>Every problem with these settings, each naming the property and the fix; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (PercentageOfNodesToScore is < 1 or > 100)
            errors.Add($"PercentageOfNodesToScore is {PercentageOfNodesToScore}; set it between 1 and 100 (100 scores every node).");
        if (MinNodesToScore < 1) errors.Add($"MinNodesToScore is {MinNodesToScore}; set it to 1 or more (default 100).");
        if (RankingSize is < 1 or > 1000) errors.Add($"RankingSize is {RankingSize}; set it between 1 and 1000.");
        if (!Enum.IsDefined(PlacementIndex)) errors.Add($"PlacementIndex is {(int)PlacementIndex}; use Auto, Always or Off.");
        if (CountCpuUsage && !UseMeasuredUsage) errors.Add("CountCpuUsage needs UseMeasuredUsage; set both, or clear CountCpuUsage.");
        return errors;
    }

    /// <summary>Throws when <see cref="Validate"/> finds problems.</summary>
    /// <exception cref="ArgumentException">The settings are invalid; the message lists every problem.</exception>
    public void ThrowIfInvalid()
    {
        var errors = Validate();
        if (errors.Count > 0) throw new ArgumentException("invalid scheduler options: " + string.Join(" ", errors));
    }
}

/// <summary>When a <see cref="ClusterState"/> builds its placement index.</summary>
public enum PlacementIndexMode
{
    /// <summary>From the 16th placement on a state of at least 2,048 nodes: a state built for one request keeps scanning.</summary>
    Auto,

    /// <summary>At the first placement, whatever the size.</summary>
    Always,

    /// <summary>Never: every placement scores every feasible node.</summary>
    Off,
}
