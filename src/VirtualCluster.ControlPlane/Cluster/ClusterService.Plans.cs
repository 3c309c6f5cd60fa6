using VirtualCluster.Api;
using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Cluster;

/// <summary>One instance a plan places.</summary>
/// <param name="Placement">Node and ports chosen.</param>
/// <param name="Replaces">The instance it takes over from (fenced: the plan applies only while that record is unchanged).</param>
/// <param name="RemoveReplaced">Whether the replaced record goes in the same commit (a failover) or stays (a drain's make-before-break move).</param>
/// <param name="Incident">The recovery this placement belongs to.</param>
internal sealed record PlannedInstance(Placement Placement, ServiceInstance? Replaces = null, bool RemoveReplaced = false, string? Incident = null);

/// <summary>
/// What a planner decided from one snapshot, for the applier to check against the latest state and commit.
/// </summary>
/// <param name="Spec">The service's spec.</param>
/// <param name="Service">The service record the plan was made for; null for a new service (a deploy), created by the commit.</param>
/// <param name="Place">Instances to place.</param>
/// <param name="Reserved">True when the placements were made on the kept scheduling state (and are reserved there); otherwise that state is built again after the commit.</param>
internal sealed record Plan(ServiceSpec Spec, ServiceRecord? Service, IReadOnlyList<PlannedInstance> Place, bool Reserved = false);

/// <summary>A plan applied (with the instances stored) or refused (with why; nothing of it stored).</summary>
internal sealed record PlanOutcome(IReadOnlyList<ServiceInstance>? Placed, string? Conflict)
{
    public bool Applied => Placed is not null;
}

// The one plan applier: every placement decision is committed here, after a check against the latest state.
public sealed partial class ClusterService
{
    /// <summary>Times a planner plans again after a conflict before it reports one.</summary>
    internal const int MaxPlanAttempts = 5;

    private readonly SemaphoreSlim _applyLock = new(1, 1);
    private long _conflicts;

    /// <summary>For tests: runs after a plan is made and before the applier takes it (so it may apply another plan first).</summary>
    internal Func<Plan, CancellationToken, Task>? BeforeApply { get; set; }

    /// <summary>Plans refused because the state changed since they were made (for tests and benchmarks).</summary>
    internal long PlanConflicts => Interlocked.Read(ref _conflicts);

    /// <summary>
    /// Checks <paramref name="plan"/> against the latest state (the service record, each target node's state and
    /// liveness, its capacity and ports with what the plan adds, and the fencing epoch of every replaced instance)
    /// and commits it as one plan (the store splits it only under its transaction limit, keeping each replacement
    /// with the record it replaces). A plan that no longer fits is refused whole and the kept scheduling state is
    /// built again, so the caller plans again from the current state.
    /// </summary>
    internal async Task<PlanOutcome> ApplyPlanAsync(Plan plan, CancellationToken ct) => (await ApplyPlansAsync([plan], ct))[0];

    /// <summary>
    /// Applies several plans at once, in order: each is checked against the latest state plus the plans before it
    /// that were accepted; the accepted ones are committed together (one reservation of epochs, the instances in
    /// as few store transactions as the limit allows). A refused plan stores nothing.
    /// </summary>
    internal async Task<IReadOnlyList<PlanOutcome>> ApplyPlansAsync(IReadOnlyList<Plan> plans, CancellationToken ct)
    {
        if (BeforeApply is { } hook)
            foreach (var plan in plans) await hook(plan, ct);
        await _applyLock.WaitAsync(ct);
        try
        {
            var term = Term;
            var snapshot = term is null ? null : await term.State.SnapshotAsync(ct);
            var booked = new Dictionary<string, (Resources Allocated, HashSet<int> Ports)>(StringComparer.Ordinal);
            var outcomes = new PlanOutcome?[plans.Count];
            var accepted = new List<int>();
            for (var i = 0; i < plans.Count; i++)
            {
                // Without a term (a follower never plans; a custom host might) the store's own conditions are the only check.
                var conflict = snapshot is null ? null : CheckPlan(snapshot, plans[i], booked);
                if (conflict is null)
                {
                    accepted.Add(i);
                    continue;
                }
                Interlocked.Increment(ref _conflicts);
                term?.Planner?.Invalidate();
                Log.PlanConflict(_logger, plans[i].Spec.Name, conflict);
                outcomes[i] = new PlanOutcome(null, conflict);
            }
            if (accepted.Count > 0) await CommitAsync(term, plans, accepted, outcomes, snapshot, ct);
            return outcomes.Select(o => o!).ToList();
        }
        finally
        {
            _applyLock.Release();
        }
    }

    private async Task CommitAsync(LeaderTerm? term, IReadOnlyList<Plan> plans, List<int> accepted, PlanOutcome?[] outcomes, ClusterSnapshot? snapshot, CancellationToken ct)
    {
        try
        {
            var epochs = await Store.NextEpochsAsync(accepted.Sum(i => plans[i].Place.Count), ct);
            var next = 0;
            // Nodes are only read for services with replicated volumes (their holders are chosen here).
            IReadOnlyCollection<NodeInfo>? nodes = null;
            if (accepted.Any(i => plans[i].Spec.VolumeReplicas > 0))
                nodes = snapshot is not null ? [.. snapshot.Nodes.Values] : await Store.ListNodesAsync(ct);
            var added = new List<ServiceInstance>();
            var removed = new List<string>();
            foreach (var i in accepted)
            {
                var placed = new List<ServiceInstance>(plans[i].Place.Count);
                foreach (var p in plans[i].Place)
                {
                    placed.Add(WithReplication(NewInstance(plans[i].Spec.Name, p.Placement, epochs[next++], p.Replaces?.Id, p.Incident), plans[i].Spec, p, nodes ?? []));
                    removed.Add(p.RemoveReplaced && p.Replaces is not null ? p.Replaces.Id : "");
                }
                added.AddRange(placed);
                outcomes[i] = new PlanOutcome(placed, null);
                if (!plans[i].Reserved) term?.Planner?.Invalidate();
            }
            foreach (var i in accepted.Where(i => plans[i].Service is null))
            {
                // A deploy: its service record is created with its instances (a plan of its own).
                var record = new ServiceRecord(plans[i].Spec, Now, 1);
                var created = term is not null ? await term.State.CreateServiceAsync(record, outcomes[i]!.Placed!, planned: true, ct) : await Store.CreateServiceAsync(record, outcomes[i]!.Placed!, ct);
                if (created) continue;
                Interlocked.Increment(ref _conflicts);
                term?.Planner?.Invalidate();
                outcomes[i] = new PlanOutcome(null, $"service \"{plans[i].Spec.Name}\" was deployed concurrently");
            }
            var existing = accepted.Where(i => plans[i].Service is not null).ToHashSet();
            if (existing.Count == 0) return;
            var (keepAdded, keepRemoved) = (new List<ServiceInstance>(), new List<string>());
            var k = 0;
            foreach (var i in accepted)
            {
                foreach (var _ in plans[i].Place)
                {
                    if (existing.Contains(i))
                    {
                        keepAdded.Add(added[k]);
                        keepRemoved.Add(removed[k]);
                    }
                    k++;
                }
            }
            if (term is not null) await term.State.CommitInstancesAsync(keepAdded, keepRemoved, planned: true, ct);
            else await Store.CommitInstancesAsync(keepAdded, keepRemoved, ct);
        }
        catch
        {
            term?.Planner?.Invalidate();
            throw;
        }
    }

    /// <summary>Why <paramref name="plan"/> no longer fits <paramref name="snapshot"/> with what <paramref name="booked"/> holds, or null (and it is booked) when it does.</summary>
    private string? CheckPlan(ClusterSnapshot snapshot, Plan plan, Dictionary<string, (Resources Allocated, HashSet<int> Ports)> booked)
    {
        var name = plan.Spec.Name;
        if (plan.Service is null)
        {
            if (snapshot.Services.ContainsKey(name)) return $"service \"{name}\" was deployed meanwhile";
        }
        // A service never changes after it is created (a different spec under its name is refused), so its version and creation identify it.
        else if (!snapshot.Services.TryGetValue(name, out var current) || current.Version != plan.Service.Version || current.CreatedAt != plan.Service.CreatedAt)
        {
            return $"service \"{name}\" was changed or removed meanwhile";
        }
        // Checked on copies of the node entries it touches, which replace the booked ones only if all of it fits.
        var mine = new Dictionary<string, (Resources Allocated, HashSet<int> Ports)>(StringComparer.Ordinal);
        foreach (var p in plan.Place)
        {
            var node = snapshot.Nodes.GetValueOrDefault(p.Placement.NodeId);
            if (node is null) return $"node {p.Placement.NodeId} is gone";
            var state = LiveState(node);
            if (state != NodeState.Alive) return $"node {node.Name} is {state.ToString().ToLowerInvariant()} now";
            if (!mine.TryGetValue(node.Id, out var b))
            {
                if (booked.TryGetValue(node.Id, out var before)) b = (before.Allocated, new HashSet<int>(before.Ports));
                else
                {
                    var candidate = snapshot.Candidate(node, state);
                    b = (candidate.Allocated, new HashSet<int>(candidate.UsedPorts));
                }
            }
            b.Allocated += plan.Spec.Resources;
            var cap = node.Capacity;
            if (b.Allocated.CpuMillicores > cap.CpuMillicores || b.Allocated.MemoryBytes > cap.MemoryBytes
                || b.Allocated.DiskBytes > cap.DiskBytes || b.Allocated.Gpus > cap.Gpus)
                return $"node {node.Name} no longer has room for {name}";
            foreach (var port in p.Placement.Ports.Values)
            {
                if (port < node.Ports.First || port > node.Ports.Last || !b.Ports.Add(port))
                    return $"port {port} on node {node.Name} is taken";
            }
            mine[node.Id] = b;
            if (p.Replaces is { } replaced
                && (!snapshot.Instances.TryGetValue(replaced.Id, out var now) || now.Epoch != replaced.Epoch || now.State != replaced.State))
                return $"instance {replaced.Id} changed meanwhile (epoch {replaced.Epoch})";
        }
        foreach (var (id, b) in mine) booked[id] = b;
        return null;
    }

    /// <summary>
    /// Plans with <paramref name="plan"/> and applies, planning again from the current state after a conflict, up to
    /// <see cref="MaxPlanAttempts"/> times. Returns the placement failure, the outcome, or the last conflict.
    /// </summary>
    private async Task<(PlacementResult Result, PlanOutcome? Outcome)> PlanAndApplyAsync(Func<CancellationToken, Task<(PlacementResult, Plan?)>> plan, CancellationToken ct)
    {
        PlanOutcome? outcome = null;
        for (var attempt = 0; attempt < MaxPlanAttempts; attempt++)
        {
            var (result, made) = await plan(ct);
            if (!result.Succeeded || made is null) return (result, null);
            outcome = await ApplyPlanAsync(made, ct);
            if (outcome.Applied) return (result, outcome);
        }
        return (PlacementResult.Fail(new PlacementFailure($"the cluster kept changing while planning: {outcome!.Conflict}", 0, [])), outcome);
    }
}
