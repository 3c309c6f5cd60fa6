using VirtualCluster.Api;
using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Cluster;

// Replacements: missing replicas (lost, fenced) and failed instances, with retries, backoff and a bound.
public sealed partial class ClusterService
{
    /// <summary>Time a service must be fully healthy before its count of failed-instance replacements starts again.</summary>
    private static readonly TimeSpan StableAfter = TimeSpan.FromMinutes(1);

    /// <summary>Placement retries per service (nothing fitted); under the placement lock.</summary>
    private readonly Dictionary<string, Retry> _placementRetries = new(StringComparer.Ordinal);
    /// <summary>Replacements of failed instances per service, bounded by failover maxAttempts; under the placement lock.</summary>
    private readonly Dictionary<string, Retry> _failureRetries = new(StringComparer.Ordinal);

    private sealed class Retry
    {
        public int Attempts { get; set; }
        public DateTimeOffset NextAt { get; set; } = DateTimeOffset.MinValue;
        public string Reason { get; set; } = "";
        public bool GaveUp { get; set; }
        public DateTimeOffset? HealthySince { get; set; }
    }

    private async Task ReplaceMissingAndFailedAsync(Dictionary<string, List<PendingWork>> pending, CancellationToken ct)
    {
        var services = await Store.ListServicesAsync(ct);
        var names = services.Select(s => s.Spec.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _placementRetries.Keys.Concat(_failureRetries.Keys).Where(n => !names.Contains(n)).ToList())
        {
            _placementRetries.Remove(gone);
            _failureRetries.Remove(gone);
        }
        // Only services that changed since the last pass, or that wait for a retry, can have work: the rest are
        // skipped, except in a full pass (see ServicesToLookAt).
        var look = ServicesToLookAt();
        // Missing replicas of every service are planned first and applied together (a zone lost at once costs a
        // few store transactions, not several per instance); a plan refused there is planned again at once.
        var plans = new List<MissingPlan>();
        foreach (var service in services)
        {
            if (look is not null && !look.Contains(service.Spec.Name)) continue;
            await ReplaceFailedAsync(service, pending, ct);
            if (await PlanMissingAsync(service, pending, ct) is { } plan) plans.Add(plan);
            await TrackStabilityAsync(service.Spec, ct);
        }
        // The events of every applied plan go in one append too (one per service was one sync per service).
        var events = new List<ClusterEvent>();
        for (var attempt = 0; attempt < MaxPlanAttempts && plans.Count > 0; attempt++)
        {
            var outcomes = await ApplyPlansAsync(plans.Select(p => p.Plan).ToList(), ct);
            var refused = new List<MissingPlan>();
            var snapshot = Term is { } term ? await term.State.SnapshotAsync(ct) : null;
            for (var i = 0; i < plans.Count; i++)
            {
                if (outcomes[i].Applied) await PlacedMissingAsync(plans[i], outcomes[i].Placed!, snapshot, events, ct);
                else refused.Add(plans[i]);
            }
            plans.Clear();
            foreach (var again in refused)
                if (await PlanMissingAsync(again.Service, pending, ct) is { } plan) plans.Add(plan);
        }
        await RecordAllAsync(events, ct);
        if (plans.Count > 0) Wake(); // still refused after every attempt: the next pass plans them again
    }

    /// <summary>When the last pass that looked at every service ran (it is the safety net of the passes that look at changes only).</summary>
    private DateTimeOffset _lastFullPass = DateTimeOffset.MinValue;
    private long _fullPasses;
    private long _partialPasses;

    /// <summary>Reconcile passes that looked at every service, and those that looked at changed ones only (for tests and benchmarks).</summary>
    internal (long Full, long Partial) PassCounts => (Interlocked.Read(ref _fullPasses), Interlocked.Read(ref _partialPasses));

    /// <summary>
    /// The services a pass must look at, or null for every one. While leading, the term's memory knows which
    /// services' records or instances were written since the last pass (a report, a node's instances marked lost, a
    /// deploy, the pass's own commits); services waiting for a timed retry, a placement retry or the end of a
    /// stability period are looked at too, since their work comes due with time alone. Everything else cannot have
    /// work (a service's work is decided by its own record and instances). Every
    /// <see cref="ControlPlaneOptions.FullReconcileInterval"/>, and whenever memory was loaded, a pass looks at every
    /// service anyway, as a safety net. Under the placement lock.
    /// </summary>
    private HashSet<string>? ServicesToLookAt()
    {
        var changed = Term?.State.TakeChangedServices();
        if (changed is null || Now - _lastFullPass >= _options.FullReconcileInterval)
        {
            _lastFullPass = Now;
            Interlocked.Increment(ref _fullPasses);
            return null;
        }
        Interlocked.Increment(ref _partialPasses);
        changed.UnionWith(_placementRetries.Keys);
        changed.UnionWith(_failureRetries.Keys);
        return changed;
    }

    /// <summary>A plan for the missing replicas of a service, with the lost or stopped records its placements take over.</summary>
    private sealed record MissingPlan(ServiceRecord Service, Plan Plan, List<ServiceInstance> Gone);

    /// <summary>
    /// Replaces instances that ended Failed, one attempt at a time with exponential backoff, on another node when
    /// one has room, up to the service's failover maxAttempts in a row.
    /// </summary>
    private async Task ReplaceFailedAsync(ServiceRecord service, Dictionary<string, List<PendingWork>> pending, CancellationToken ct)
    {
        var spec = service.Spec;
        var instances = await Store.ListInstancesAsync(service: spec.Name, cancellationToken: ct);
        var live = instances.Where(i => !i.IsTerminal).Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
        // A failed replacement of an instance that still runs belongs to a drain or a rebalance move, which handles it.
        var failed = instances.Where(i => i.State == InstanceState.Failed && !(i.Replaces is { } r && live.Contains(r))).ToList();
        // restartPolicy "never" means the user wants a failed instance left as it is, not restarted somewhere else.
        if (failed.Count == 0 || !spec.Failover.Enabled || spec.Failover.MaxAttempts == 0 || spec.RestartPolicy == RestartPolicy.Never) return;

        if (!_failureRetries.TryGetValue(spec.Name, out var retry)) _failureRetries[spec.Name] = retry = new Retry();
        foreach (var instance in failed)
        {
            if (retry.Attempts >= spec.Failover.MaxAttempts)
            {
                var reason = $"replaced {retry.Attempts} failed instance(s) in a row (failover maxAttempts {spec.Failover.MaxAttempts}); "
                    + $"last failure: {instance.Reason}. Fix the spec, then `vcluster rm {spec.Name}` and deploy it again";
                if (!retry.GaveUp)
                {
                    retry.GaveUp = true;
                    await RecordAsync(EventKinds.ServiceGaveUp, spec.Name, reason, ct, spec.Name, incident: instance.Incident);
                    Log.GaveUp(_logger, spec.Name, retry.Attempts);
                }
                AddPending(pending, spec.Name, new PendingWork("gave-up", 1, reason, retry.Attempts, null));
                continue;
            }
            if (Now < retry.NextAt)
            {
                AddPending(pending, spec.Name, new PendingWork("replacement", 1,
                    $"{instance.Id} failed ({instance.Reason}); replacing it, attempt {retry.Attempts + 1} of {spec.Failover.MaxAttempts}",
                    retry.Attempts, retry.NextAt));
                DueAt(retry.NextAt);
                continue;
            }
            var (result, outcome) = await PlanAndApplyAsync(async token =>
            {
                // With replicated volumes, on the holder of its newest replica when it has room (off the kept state).
                if (await PlaceOnFreshestReplicaAsync(spec, instance, token) is { } onReplica)
                    return (PlacementResult.Success([onReplica]), new Plan(spec, service, [new PlannedInstance(onReplica, instance, RemoveReplaced: true, instance.Incident)]));
                var placed = await PlaceAsync(spec, 1, instance.NodeId, token);
                return (placed, placed.Succeeded ? new Plan(spec, service, [new PlannedInstance(placed.Placements[0], instance, RemoveReplaced: true, instance.Incident)], Reserved: true) : null);
            }, ct);
            if (!result.Succeeded)
            {
                await NotePlacementFailureAsync(spec, 1, result.Failure!.Message, pending, ct);
                continue;
            }
            _metrics?.Placed(1, "replace");
            var replacement = outcome!.Placed![0];
            retry.Attempts++;
            retry.NextAt = Now + Backoff(retry.Attempts);
            retry.Reason = $"{instance.Id} failed ({instance.Reason})";
            var node = await NodeNameAsync(replacement.NodeId, ct);
            await RecordAsync(EventKinds.InstancePlaced, spec.Name,
                $"{replacement.Id} placed on {node} to replace failed {instance.Id} (attempt {retry.Attempts} of {spec.Failover.MaxAttempts})",
                ct, spec.Name, node, replacement.Id, instance.Incident);
            if (VolumeFailoverEvent(spec, replacement, instance, node) is { } volumes) await RecordAllAsync([volumes], ct);
        }
    }

    /// <summary>
    /// Places instances for every replica not held by a record (lost and fenced instances hold none), taking over
    /// their ids and incidents, with backoff while nothing fits. Each lost or stopped record is deleted once it is
    /// replaced (the event log keeps its history).
    /// </summary>
    private async Task<MissingPlan?> PlanMissingAsync(ServiceRecord service, Dictionary<string, List<PendingWork>> pending, CancellationToken ct)
    {
        var spec = service.Spec;
        var instances = await Store.ListInstancesAsync(service: spec.Name, cancellationToken: ct);
        var gone = instances.Where(i => i.State is InstanceState.Lost or InstanceState.Stopped).OrderBy(i => i.UpdatedAt).ToList();
        var missing = spec.Replicas - (instances.Count - gone.Count);
        if (missing <= 0)
        {
            // Stopped records that nothing replaces (a rebalance's moved instances) stay visible; replaced ones go below.
            _placementRetries.Remove(spec.Name);
            return null;
        }
        if (_placementRetries.TryGetValue(spec.Name, out var retry) && Now < retry.NextAt)
        {
            AddPending(pending, spec.Name, new PendingWork("placement", missing, retry.Reason, retry.Attempts, retry.NextAt));
            DueAt(retry.NextAt);
            return null;
        }
        // A lost instance with replicated volumes goes to the holder with its newest replica when that one has room;
        // one at a time (the rest follow in the next pass), off the kept scheduling state, which is rebuilt after.
        if (gone.Count > 0 && await PlaceOnFreshestReplicaAsync(spec, gone[0], ct) is { } onReplica)
        {
            if (missing > 1) Wake();
            return new MissingPlan(service, new Plan(spec, service, [new PlannedInstance(onReplica, gone[0], RemoveReplaced: true, gone[0].Incident)]), [gone[0]]);
        }
        var placed = await PlaceAsync(spec, missing, null, ct);
        if (!placed.Succeeded)
        {
            await NotePlacementFailureAsync(spec, missing, placed.Failure!.Message, pending, ct);
            return null;
        }
        // Each placement takes over a lost or stopped record (its id and incident); that record goes in the same commit.
        var planned = placed.Placements.Select((p, i) => i < gone.Count
            ? new PlannedInstance(p, gone[i], RemoveReplaced: true, gone[i].Incident)
            : new PlannedInstance(p)).ToList();
        return new MissingPlan(service, new Plan(spec, service, planned, Reserved: true), gone);
    }

    /// <summary>Notes an applied plan: its retry state goes, its events are added to <paramref name="events"/> (the caller appends them).</summary>
    private async Task PlacedMissingAsync(MissingPlan plan, IReadOnlyList<ServiceInstance> placed, ClusterSnapshot? snapshot, List<ClusterEvent> events, CancellationToken ct)
    {
        var spec = plan.Service.Spec;
        _placementRetries.Remove(spec.Name);
        _metrics?.Placed(placed.Count, "replace");
        for (var i = 0; i < placed.Count; i++)
        {
            var instance = placed[i];
            var previous = i < plan.Gone.Count ? plan.Gone[i] : null;
            var node = snapshot?.Nodes.GetValueOrDefault(instance.NodeId)?.Name ?? await NodeNameAsync(instance.NodeId, ct);
            var why = previous is null
                ? $"to restore {spec.Replicas} replica(s)"
                : $"to replace {previous.Id} ({previous.Reason})";
            events.Add(NewEvent(EventKinds.InstancePlaced, spec.Name, $"{instance.Id} placed on {node} {why}", spec.Name, node, instance.Id, previous?.Incident));
            if (VolumeFailoverEvent(spec, instance, previous, node) is { } volumes) events.Add(volumes);
        }
    }

    private async Task NotePlacementFailureAsync(ServiceSpec spec, int count, string message, Dictionary<string, List<PendingWork>> pending, CancellationToken ct)
    {
        if (!_placementRetries.TryGetValue(spec.Name, out var retry)) _placementRetries[spec.Name] = retry = new Retry();
        retry.Attempts++;
        retry.NextAt = Now + Backoff(retry.Attempts);
        if (retry.Reason != message)
        {
            retry.Reason = message;
            await RecordAsync(EventKinds.ServicePending, spec.Name, $"{count} instance(s) waiting for room: {message}", ct, spec.Name);
        }
        AddPending(pending, spec.Name, new PendingWork("placement", count, message, retry.Attempts, retry.NextAt));
        DueAt(retry.NextAt);
    }

    /// <summary>The count of failed-instance replacements starts again once every replica has run healthy for a while.</summary>
    private async Task TrackStabilityAsync(ServiceSpec spec, CancellationToken ct)
    {
        if (!_failureRetries.TryGetValue(spec.Name, out var retry)) return;
        var instances = await Store.ListInstancesAsync(service: spec.Name, cancellationToken: ct);
        var healthy = instances.Count(i => i.State == InstanceState.Running) >= spec.Replicas && instances.All(i => i.State == InstanceState.Running);
        if (!healthy)
        {
            retry.HealthySince = null;
            return;
        }
        retry.HealthySince ??= Now;
        if (Now - retry.HealthySince >= StableAfter) _failureRetries.Remove(spec.Name);
        else DueAt(retry.HealthySince.Value + StableAfter);
    }
}
