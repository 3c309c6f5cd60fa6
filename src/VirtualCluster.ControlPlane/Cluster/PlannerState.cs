using VirtualCluster.Store;
using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Cluster;

/// <summary>
/// The scheduler's <see cref="ClusterState"/> kept for a leadership term instead of built for every decision:
/// placements reserve in it as they are planned, the capacity changes of <see cref="LiveClusterState"/>
/// (instances that end or go) release in it, and a node's change of liveness is set in it while the state is
/// younger than <see cref="InPlaceFor"/> (nodes of a zone going down one after another would otherwise build a
/// 10,000-node state again for each). Anything it cannot follow step
/// by step (a node joins or changes, a plan conflicts, a placement written outside a plan) makes it build again
/// from the current snapshot, in memory. Used under the placement lock only (a <see cref="ClusterState"/> is not
/// thread-safe).
/// </summary>
/// <remarks>Measured usage from heartbeats enters at the next build; reservations are exact at every step.</remarks>
internal sealed class PlannerState(LiveClusterState live, PipelineScheduler scheduler, Func<NodeInfo, NodeState> liveState, Func<DateTimeOffset> now)
{
    /// <summary>
    /// How old a kept state may be and still take a liveness change in place: a build also brings in the nodes'
    /// measured usage, which placements count, so an older state is built again instead (at most one build per
    /// this time for liveness, however many nodes change).
    /// </summary>
    internal static readonly TimeSpan InPlaceFor = TimeSpan.FromSeconds(10);

    private DateTimeOffset _builtWhen;

    private ClusterState? _state;
    private long _builtAt;
    private Dictionary<string, NodeState> _liveAtBuild = new(StringComparer.Ordinal);
    private volatile bool _rebuild;
    // Liveness changes noted since the last use, set in the kept state then.
    private readonly Dictionary<string, NodeState> _liveness = new(StringComparer.Ordinal);

    /// <summary>Times the state was built from a snapshot (for tests and benchmarks).</summary>
    public int Builds { get; private set; }

    /// <summary>Makes the next use build the state again (its reservations no longer match the store's).</summary>
    public void Invalidate() => _rebuild = true;

    /// <summary>
    /// Notes a node's live state as the reconciler sees it; a change from the state built in is set in the kept
    /// state at its next use (a node it does not hold makes that use build again).
    /// </summary>
    public void NoteLiveness(string nodeId, NodeState state)
    {
        if (_state is null) return;
        if (!_liveAtBuild.TryGetValue(nodeId, out var built)) _rebuild = true;
        else if (built != state && now() - _builtWhen > InPlaceFor) _rebuild = true;
        else if (built != state) _liveness[nodeId] = state;
        else _liveness.Remove(nodeId); // back to what the state holds before it was used
    }

    /// <summary>The kept state, brought up to date with every capacity change queued since it was last used.</summary>
    public async ValueTask<ClusterState> CurrentAsync(CancellationToken ct)
    {
        var rebuild = _state is null || _rebuild;
        while (live.TryTakeChange(out var change))
        {
            if (change.Version <= _builtAt) continue; // Already in the snapshot it was built from.
            if (change.Kind == CapacityChangeKind.Rebuild) rebuild = true;
            else if (!rebuild && _state!.IndexOf(change.NodeId!) is var index and >= 0) _state.Release(index, change.Spec!, change.Ports);
        }
        if (!rebuild)
        {
            foreach (var (nodeId, state) in _liveness)
            {
                if (_state!.IndexOf(nodeId) is var index and >= 0) _state.SetNodeState(index, state);
                _liveAtBuild[nodeId] = state;
            }
            _liveness.Clear();
            return _state!;
        }
        _rebuild = false;
        _liveness.Clear(); // The build reads every node's liveness afresh.
        // Read after the queue is drained: a change is published in a snapshot before it is queued.
        var snapshot = await live.SnapshotAsync(ct).ConfigureAwait(false);
        var candidates = new List<NodeCandidate>(snapshot.Nodes.Count);
        var states = new Dictionary<string, NodeState>(snapshot.Nodes.Count, StringComparer.Ordinal);
        // In name order, as the store lists them: the snapshot's dictionary order varies between processes
        // (string hashes are randomized), and ties between equal nodes must go the same way in every run.
        foreach (var node in snapshot.NodesInOrder())
        {
            var state = liveState(node);
            states[node.Id] = state;
            candidates.Add(snapshot.Candidate(node, state));
        }
        _state = scheduler.CreateState(candidates);
        _builtAt = snapshot.Version;
        _builtWhen = now();
        _liveAtBuild = states;
        Builds++;
        return _state;
    }
}

/// <summary>Everything the control plane keeps in memory for one leadership term.</summary>
internal sealed class LeaderTerm
{
    private static long _lastId;

    public LeaderTerm(IClusterStore store, IScheduler scheduler, Func<NodeInfo, NodeState> liveState, Func<DateTimeOffset> now)
    {
        State = new LiveClusterState(store);
        Planner = scheduler is PipelineScheduler pipeline ? new PlannerState(State, pipeline, liveState, now) : null;
    }

    /// <summary>Distinguishes terms, so per-term bookkeeping elsewhere knows when one began.</summary>
    public long Id { get; } = Interlocked.Increment(ref _lastId);

    public LiveClusterState State { get; }

    /// <summary>The kept scheduling state; null with a scheduler other than the pipeline (it is built per decision then).</summary>
    public PlannerState? Planner { get; }
}
