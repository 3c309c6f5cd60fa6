namespace VirtualCluster.Scheduling;

/// <summary>
/// The default scheduler: runs each instance through the <see cref="PlacementPipeline"/> (filters, the spec's
/// strategy, normalization, selection) and reserves it before placing the next, so the instances of one request
/// account for each other. All-or-nothing: when one instance does not fit, nothing stays reserved and the failure
/// explains which filter removed how many nodes per dimension and which node came closest.
/// </summary>
public sealed class PipelineScheduler : IScheduler
{
    /// <summary>Name of this scheduler.</summary>
    public const string SchedulerName = "pipeline";

    /// <summary>A scheduler with default options and the built-in pipeline.</summary>
    public PipelineScheduler()
        : this(new SchedulerOptions())
    {
    }

    /// <summary>A scheduler with these options and pipeline (default: <see cref="PlacementPipeline.Default"/>).</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public PipelineScheduler(SchedulerOptions options, PlacementPipeline? pipeline = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        Options = options;
        Pipeline = pipeline ?? PlacementPipeline.Default;
    }

    /// <inheritdoc />
    public string Name => SchedulerName;

    /// <summary>The settings.</summary>
    public SchedulerOptions Options { get; }

    /// <summary>The pipeline that filters and ranks nodes.</summary>
    public PlacementPipeline Pipeline { get; }

    /// <summary>A working state for these nodes with this scheduler's options.</summary>
    public ClusterState CreateState(IReadOnlyList<NodeCandidate> nodes) => ClusterState.From(nodes, Options);

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The request is incomplete, asks for a negative count, names an unknown strategy, or repeats a node id.</exception>
    public PlacementResult Place(PlacementRequest request)
    {
        Validate(request);
        if (request.Count == 0) return PlacementResult.Success([]);
        return Place(CreateState(request.Nodes), request.Spec, request.Count);
    }

    /// <summary>
    /// Places <paramref name="count"/> instances on <paramref name="state"/> and keeps them reserved there on success;
    /// on failure the state is left as it was.
    /// </summary>
    public PlacementResult Place(ClusterState state, ServiceSpec spec, int count)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count == 0) return PlacementResult.Success([]);
        if (state.Count == 0) return PlacementResult.Fail(PlacementPipeline.NoNodes());
        var context = Pipeline.CreateContext(state, spec);
        var placements = new List<Placement>(count);
        var chosen = new List<int>(count);
        for (var n = 0; n < count; n++)
        {
            if (!Pipeline.TrySelect(context, out var node, out var score))
            {
                var failure = Pipeline.ExplainFailure(context, count, n);
                for (var k = 0; k < chosen.Count; k++) state.Release(chosen[k], spec, placements[k].Ports.Values);
                return PlacementResult.Fail(failure);
            }
            var scores = Options.ReportScores ? Pipeline.ScoreNode(context, node).Scorers : null;
            var ports = state.Reserve(node, spec);
            chosen.Add(node);
            placements.Add(new Placement(state.Node(node).Id, ports, Math.Round(score, 2), scores));
        }
        return PlacementResult.Success(placements);
    }

    /// <summary>Where one more instance of the request's spec would go, or why it would not fit.</summary>
    public PlacementExplanation Explain(PlacementRequest request)
    {
        Validate(request);
        return Explain(CreateState(request.Nodes), request.Spec);
    }

    /// <summary>Where one more instance of <paramref name="spec"/> would go on <paramref name="state"/>, or why it would not fit.</summary>
    public PlacementExplanation Explain(ClusterState state, ServiceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(spec);
        return Pipeline.Explain(Pipeline.CreateContext(state, spec), Options.RankingSize);
    }

    /// <summary>How many more instances of <paramref name="spec"/> fit (at most <paramref name="limit"/>), with every filter; the state is left unchanged.</summary>
    public int CountFits(ClusterState state, ServiceSpec spec, int limit)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var context = Pipeline.CreateContext(state, spec);
        var taken = new List<int>();
        while (taken.Count < limit && Pipeline.TrySelect(context, out var node, out _))
        {
            state.ReserveResources(node, spec, spec.Ports.Count);
            taken.Add(node);
        }
        foreach (var node in taken) state.ReleaseResources(node, spec, spec.Ports.Count);
        return taken.Count;
    }

    private void Validate(PlacementRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Spec is null) throw new ArgumentException("the request has no spec", nameof(request));
        if (request.Nodes is null) throw new ArgumentException("the request has no node list (pass an empty list for no nodes)", nameof(request));
        if (request.Count < 0) throw new ArgumentOutOfRangeException(nameof(request), request.Count, "the request asks for a negative number of instances");
        Pipeline.GetStrategy(request.Spec.Placement.Strategy);
    }
}
