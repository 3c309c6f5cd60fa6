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
    internal async Task<PlanOutcome> ApplyPlanAsync(Plan plan, CancellationToken ct)
    {
        if (BeforeApply is { } hook) await hook(plan, ct);
        await _applyLock.WaitAsync(ct);
        try
        {
            var term = Term;
            var snapshot = term is null ? null : await term.State.SnapshotAsync(ct);
            // Without a term (a follower never plans; a custom host might) the store's own conditions are the only check.
            var conflict = snapshot is null ? null : CheckPlan(snapshot, plan);
            if (conflict is not null)
            {
                Interlocked.Increment(ref _conflicts);
                term?.Planner?.Invalidate();
                Log.PlanConflict(_logger, plan.Spec.Name, conflict);
                return new PlanOutcome(null, conflict);
            }
            try
            {
                var epochs = await Store.NextEpochsAsync(plan.Place.Count, ct);
                var added = new List<ServiceInstance>(plan.Place.Count);
                var removed = new List<string>(plan.Place.Count);
                for (var i = 0; i < plan.Place.Count; i++)
                {
                    var p = plan.Place[i];
                    added.Add(NewInstance(plan.Spec.Name, p.Placement, epochs[i], p.Replaces?.Id, p.Incident));
                    removed.Add(p.RemoveReplaced && p.Replaces is not null ? p.Replaces.Id : "");
                }
                if (plan.Service is null)
                {
                    var record = new ServiceRecord(plan.Spec, Now, 1);
                    var created = term is not null ? await term.State.CreateServiceAsync(record, added, planned: true, ct) : await Store.CreateServiceAsync(record, added, ct);
                    if (!created)
                    {
                        Interlocked.Increment(ref _conflicts);
                        term?.Planner?.Invalidate();
                        return new PlanOutcome(null, $"service \"{plan.Spec.Name}\" was deployed concurrently");
                    }
                }
                else if (term is not null) await term.State.CommitInstancesAsync(added, removed, planned: true, ct);
                else await Store.CommitInstancesAsync(added, removed, ct);
                if (!plan.Reserved) term?.Planner?.Invalidate();
                return new PlanOutcome(added, null);
            }
            catch
            {
                term?.Planner?.Invalidate();
                throw;
            }
        }
        finally
        {
            _applyLock.Release();
        }
    }

    /// <summary>Why <paramref name="plan"/> no longer fits <paramref name="snapshot"/>, or null when it does.</summary>
    private string? CheckPlan(ClusterSnapshot snapshot, Plan plan)
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
        var booked = new Dictionary<string, (Resources Allocated, HashSet<int> Ports)>(StringComparer.Ordinal);
        foreach (var p in plan.Place)
        {
            var node = snapshot.Nodes.GetValueOrDefault(p.Placement.NodeId);
            if (node is null) return $"node {p.Placement.NodeId} is gone";
            var state = LiveState(node);
            if (state != NodeState.Alive) return $"node {node.Name} is {state.ToString().ToLowerInvariant()} now";
            if (!booked.TryGetValue(node.Id, out var b))
            {
                var candidate = snapshot.Candidate(node, state);
                b = (candidate.Allocated, new HashSet<int>(candidate.UsedPorts));
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
            booked[node.Id] = b;
            if (p.Replaces is { } replaced
                && (!snapshot.Instances.TryGetValue(replaced.Id, out var now) || now.Epoch != replaced.Epoch || now.State != replaced.State))
                return $"instance {replaced.Id} changed meanwhile (epoch {replaced.Epoch})";
        }
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
