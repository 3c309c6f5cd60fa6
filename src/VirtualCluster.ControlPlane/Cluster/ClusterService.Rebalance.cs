using VirtualCluster.Api;
using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Cluster;

public sealed partial class ClusterService
{
    /// <summary>Default disruption budget of a rebalance.</summary>
    public const int DefaultRebalanceMoves = 5;

    /// <summary>Largest disruption budget accepted.</summary>
    public const int MaxRebalanceMoves = 100;

    /// <summary>
    /// Plans moves of running instances that even out node utilization (or, with
    /// <see cref="RebalanceRequest.Consolidate"/>, that free whole nodes) within the budget and, unless
    /// <see cref="RebalanceRequest.DryRun"/>, applies them: each move places a new instance on the target node at
    /// once; the old instance is stopped only after the new one reports Running (<see cref="CompleteMovesAsync"/>).
    /// A new instance that fails is stopped and the old one keeps running. A move whose target has room only once an
    /// earlier move has finished is left for a later rebalance (<see cref="RebalanceResponse.Deferred"/>).
    /// </summary>
    public async Task<AgentOutcome<RebalanceResponse>> RebalanceAsync(RebalanceRequest request, CancellationToken ct)
    {
        var budget = request.MaxMoves ?? DefaultRebalanceMoves;
        if (budget is < 0 or > MaxRebalanceMoves)
            return new(400, null, new ApiError($"maxMoves must be from 0 to {MaxRebalanceMoves}; it is the most instances moved at once"));
        await _placementLock.WaitAsync(ct);
        try
        {
            var candidates = await BuildCandidatesAsync(ct);
            var services = (await Store.ListServicesAsync(ct)).ToDictionary(s => s.Spec.Name, StringComparer.Ordinal);
            var all = await Store.ListInstancesAsync(cancellationToken: ct);
            var busy = PendingMoves(all, await DrainingNodesAsync(ct)).SelectMany(m => new[] { m.Fresh.Id, m.Old.Id }).ToHashSet(StringComparer.Ordinal);
            var movable = all
                // Rebalance makes before it breaks, which a replicated volume cannot follow without losing its last
                // writes; such instances stay (a drain moves them with a final sync).
                .Where(i => i.State == InstanceState.Running && services.ContainsKey(i.Service) && !busy.Contains(i.Id)
                    && services[i.Service].Spec.VolumeReplicas == 0)
                .OrderBy(i => i.Id, StringComparer.Ordinal)
                .Select(i => new PlacedInstance(i.Id, services[i.Service].Spec, i.NodeId))
                .ToList();
            // Consolidation searches within the default 100 ms budget, on this service's clock.
            var plan = request.Consolidate
                ? RebalancePlanner.Consolidate(Pipeline, candidates, movable, budget, new BatchOptions { TimeProvider = _time })
                : RebalancePlanner.Plan(Pipeline, candidates, movable, budget);
            if (request.DryRun || plan.Moves.Count == 0) return new(200, new RebalanceResponse(plan, false, [], []), null);

            // Sources keep their reservations here: the old instance runs until the new one does.
            var state = Pipeline.CreateState(candidates);
            var created = new List<string>();
            var deferred = new List<string>();
            foreach (var move in plan.Moves)
            {
                var spec = services[move.Service].Spec;
                var target = state.IndexOf(move.ToNodeId);
                var context = Pipeline.Pipeline.CreateContext(state, spec);
                if (target < 0 || !Pipeline.Pipeline.IsFeasible(context, target))
                {
                    deferred.Add(move.InstanceId);
                    continue;
                }
                var ports = state.Reserve(target, spec);
                var placement = new Placement(move.ToNodeId, ports, Pipeline.Pipeline.ScoreNode(context, target).Total);
                // Replaces marks it as a move: if it fails, the failover logic leaves it to CompleteMovesAsync.
                var instance = (await NewInstancesAsync(spec.Name, [placement], ct))[0] with { Replaces = move.InstanceId };
                await Store.UpsertInstanceAsync(instance, ct);
                created.Add(instance.Id);
                await RecordAsync("instance.moving", spec.Name,
                    $"rebalance: {instance.Id} placed on {move.ToNode} to replace {move.InstanceId} on {move.FromNode}", ct);
            }
            return new(200, new RebalanceResponse(plan, true, created, deferred), null);
        }
        finally
        {
            _placementLock.Release();
        }
    }

    /// <summary>
    /// Finishes moves: when a new instance runs, the one it replaces is marked Stopped (its agent stops it on its
    /// next heartbeat); when the new one failed, it is stopped and the old one stays. Moves are read from the store
    /// (see <see cref="PendingMoves"/>), so a control plane restarted mid-move, or a new leader, finishes them too.
    /// </summary>
    public async Task CompleteMovesAsync(CancellationToken ct)
    {
        await _placementLock.WaitAsync(ct);
        try
        {
            var all = await Store.ListInstancesAsync(cancellationToken: ct);
            foreach (var (fresh, old) in PendingMoves(all, await DrainingNodesAsync(ct)))
            {
                if (fresh.State == InstanceState.Running)
                {
                    await Store.UpsertInstanceAsync(old with { State = InstanceState.Stopped, Reason = $"moved to {fresh.Id} by rebalance", UpdatedAt = Now }, ct);
                    await RecordAsync("instance.moved", old.Service, $"rebalance: {old.Id} stopped, {fresh.Id} runs in its place", ct);
                }
                else if (fresh.IsTerminal)
                {
                    // Stopped, the new copy no longer holds a replica slot, so the reconciler does not count it.
                    var why = $"rebalance cancelled: it did not start ({Words(fresh.State)}{(fresh.Reason.Length > 0 ? ": " + fresh.Reason : "")}); {old.Id} keeps running";
                    await Store.UpsertInstanceAsync(fresh with { State = InstanceState.Stopped, Reason = why, UpdatedAt = Now }, ct);
                    await RecordAsync("instance.move-cancelled", fresh.Service, $"{fresh.Id}: {why}", ct);
                }
            }
        }
        finally
        {
            _placementLock.Release();
        }
    }

    /// <summary>Moves started and not finished yet (new instance id → replaced instance id), as stored.</summary>
    public async Task<IReadOnlyDictionary<string, string>> MovesInFlightAsync(CancellationToken ct = default) =>
        PendingMoves(await Store.ListInstancesAsync(cancellationToken: ct), await DrainingNodesAsync(ct))
            .ToDictionary(m => m.Fresh.Id, m => m.Old.Id, StringComparer.Ordinal);

    /// <summary>
    /// Rebalance moves in flight: a copy that replaces an instance which still runs, on a node that is not draining
    /// (drains finish their own moves). A replacement of a lost or failed instance is not a move: its old copy has ended.
    /// </summary>
    private static IEnumerable<(ServiceInstance Fresh, ServiceInstance Old)> PendingMoves(IReadOnlyList<ServiceInstance> all, IReadOnlySet<string> drainingNodes)
    {
        var live = all.Where(i => !i.IsTerminal).ToDictionary(i => i.Id, StringComparer.Ordinal);
        foreach (var fresh in all)
        {
            if (fresh.Replaces is not { } replaced || fresh.State == InstanceState.Stopped) continue;
            if (live.TryGetValue(replaced, out var old) && !drainingNodes.Contains(old.NodeId)) yield return (fresh, old);
        }
    }

    private async Task<IReadOnlySet<string>> DrainingNodesAsync(CancellationToken ct) =>
        (await Store.ListNodesAsync(ct)).Where(n => n.State == NodeState.Draining).Select(n => n.Id).ToHashSet(StringComparer.Ordinal);
}
