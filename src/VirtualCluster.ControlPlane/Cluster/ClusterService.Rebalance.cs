using System.Collections.Concurrent;
using VirtualCluster.Api;
using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Cluster;

public sealed partial class ClusterService
{
    /// <summary>Default disruption budget of a rebalance.</summary>
    public const int DefaultRebalanceMoves = 5;

    /// <summary>Largest disruption budget accepted.</summary>
    public const int MaxRebalanceMoves = 100;

    // Moves in flight: new instance id -> the instance it replaces. In memory: a restart mid-move leaves both running.
    private readonly ConcurrentDictionary<string, string> _moves = new(StringComparer.Ordinal);

    /// <summary>
    /// Plans moves of running instances that even out node utilization within the budget and, unless
    /// <see cref="RebalanceRequest.DryRun"/>, applies them: each move places a new instance on the target node at
    /// once; the old instance is stopped only after the new one reports Running (<see cref="CompleteMovesAsync"/>).
    /// A new instance that fails is stopped and the old one keeps running.
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
            var services = (await _store.ListServicesAsync(ct)).ToDictionary(s => s.Spec.Name, StringComparer.Ordinal);
            var busy = _moves.Keys.Concat(_moves.Values).ToHashSet(StringComparer.Ordinal);
            var movable = (await _store.ListInstancesAsync(cancellationToken: ct))
                .Where(i => i.State == InstanceState.Running && services.ContainsKey(i.Service) && !busy.Contains(i.Id))
                .OrderBy(i => i.Id, StringComparer.Ordinal)
                .Select(i => new PlacedInstance(i.Id, services[i.Service].Spec, i.NodeId))
                .ToList();
            var plan = RebalancePlanner.Plan(Pipeline, candidates, movable, budget);
            if (request.DryRun || plan.Moves.Count == 0) return new(200, new RebalanceResponse(plan, false, []), null);

            var state = Pipeline.CreateState(candidates);
            var created = new List<string>();
            foreach (var move in plan.Moves)
            {
                var spec = services[move.Service].Spec;
                var target = state.IndexOf(move.ToNodeId);
                var context = Pipeline.Pipeline.CreateContext(state, spec);
                if (target < 0 || !Pipeline.Pipeline.IsFeasible(context, target)) continue;
                var ports = state.Reserve(target, spec);
                var placement = new Placement(move.ToNodeId, ports, Pipeline.Pipeline.ScoreNode(context, target).Total);
                // Replaces marks it as a move: if it fails, the failover logic leaves it to CompleteMovesAsync.
                var instance = (await NewInstancesAsync(spec.Name, [placement], ct))[0] with { Replaces = move.InstanceId };
                await _store.UpsertInstanceAsync(instance, ct);
                _moves[instance.Id] = move.InstanceId;
                created.Add(instance.Id);
                await RecordAsync("instance.moving", spec.Name,
                    $"rebalance: {instance.Id} placed on {move.ToNode} to replace {move.InstanceId} on {move.FromNode}", ct);
            }
            return new(200, new RebalanceResponse(plan, true, created), null);
        }
        finally
        {
            _placementLock.Release();
        }
    }

    /// <summary>
    /// Finishes moves: when a new instance runs, the one it replaces is marked Stopped (its agent stops it on its
    /// next heartbeat); when the new one failed or vanished, it is stopped and the old one stays.
    /// </summary>
    public async Task CompleteMovesAsync(CancellationToken ct)
    {
        if (_moves.IsEmpty) return;
        await _placementLock.WaitAsync(ct);
        try
        {
            foreach (var (newId, oldId) in _moves.ToArray())
            {
                var all = await _store.ListInstancesAsync(cancellationToken: ct);
                var fresh = all.FirstOrDefault(i => i.Id == newId);
                var old = all.FirstOrDefault(i => i.Id == oldId);
                if (fresh is { State: InstanceState.Running })
                {
                    if (old is { IsTerminal: false })
                    {
                        await _store.UpsertInstanceAsync(old with { State = InstanceState.Stopped, Reason = $"moved to {newId} by rebalance", UpdatedAt = Now }, ct);
                        await RecordAsync("instance.moved", old.Service, $"rebalance: {oldId} stopped, {newId} runs in its place", ct);
                    }
                    _moves.TryRemove(newId, out _);
                }
                else if (fresh is null || fresh.IsTerminal || old is null || old.IsTerminal)
                {
                    // Stopped, the new copy no longer holds a replica slot, so the reconciler does not count it.
                    if (fresh is not null && fresh.State != InstanceState.Stopped)
                    {
                        var why = old is { IsTerminal: false }
                            ? $"rebalance cancelled: it did not start ({Words(fresh.State)}{(fresh.Reason.Length > 0 ? ": " + fresh.Reason : "")}); {oldId} keeps running"
                            : $"rebalance cancelled: {oldId}, which it was to replace, is gone";
                        await _store.UpsertInstanceAsync(fresh with { State = InstanceState.Stopped, Reason = why, UpdatedAt = Now }, ct);
                        await RecordAsync("instance.move-cancelled", fresh.Service, $"{newId}: {why}", ct);
                    }
                    _moves.TryRemove(newId, out _);
                }
            }
        }
        finally
        {
            _placementLock.Release();
        }
    }

    /// <summary>Moves started and not finished yet (new instance id → replaced instance id).</summary>
    public IReadOnlyDictionary<string, string> MovesInFlight => new Dictionary<string, string>(_moves, StringComparer.Ordinal);
}
