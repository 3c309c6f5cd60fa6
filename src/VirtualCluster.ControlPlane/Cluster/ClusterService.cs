using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Api;
using VirtualCluster.Membership;
using VirtualCluster.Scheduling;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Cluster;

/// <summary>
/// The control plane's operations: deploy, remove, agent join and heartbeat, failover, drain, status views.
/// Anything that places instances runs under one lock, so a deploy, a drain and the reconciler never
/// hand out the same capacity or port twice.
/// </summary>
/// <remarks>
/// The partial files split it by responsibility: Deploy (deploy and remove), Agents (join and heartbeat reports),
/// Reconcile (node state transitions and unreachable nodes), Failover (replacements with retries and backoff),
/// Drain (drain, cancel, leave), Views (status and events), Scheduling, Capacity and Rebalance.
/// </remarks>
public sealed partial class ClusterService
{
    private readonly IClusterStore _nodeStore;
    private readonly IScheduler _scheduler;
    private readonly IFailureDetector _detector;
    private readonly TimeProvider _time;
    private readonly ControlPlaneOptions _options;
    private readonly ILogger<ClusterService> _logger;
    private readonly SemaphoreSlim _placementLock = new(1, 1);
    private readonly ControlPlaneMetrics? _metrics;
    private readonly Secrets.SecretSealer _secrets;
    private readonly string? _clusterDomain;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _nodeGates = new(StringComparer.Ordinal);
    private int _wakeRequested;
    private long _nextDueTicks = long.MaxValue;

    public ClusterService(
        IClusterStore store,
        IScheduler scheduler,
        IFailureDetector detector,
        TimeProvider time,
        IOptions<ControlPlaneOptions> options,
        ILogger<ClusterService> logger,
        ControlPlaneMetrics? metrics = null,
        IOptions<ServiceUrlOptions>? urls = null)
    {
        _metrics = metrics;
        _clusterDomain = urls?.Value.Domain();
        _options = options.Value;
        _secrets = new Secrets.SecretSealer(store);
        // Heartbeats stay in memory; only changes of a node and periodic snapshots reach the store.
        _nodeStore = store as LiveNodeStore ?? new LiveNodeStore(store, time, _options.NodeSnapshotInterval, () => TimeSpan.FromTicks(Volatile.Read(ref _lastToldTicks)));
        _scheduler = scheduler;
        _detector = detector;
        _time = time;
        _logger = logger;
        metrics?.Observe(this);
    }

    private DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>
    /// Node state as the cluster sees it now: Left and Down win, then Draining (set by a drain), then the
    /// detector's Alive or Suspect.
    /// </summary>
    internal NodeState LiveState(NodeInfo node) => node.State == NodeState.Left ? NodeState.Left : LiveState(node, _detector.GetState(node.Id));

    /// <summary>The same, from a detector state already read.</summary>
    private static NodeState LiveState(NodeInfo node, NodeState live)
    {
        if (node.State == NodeState.Left) return NodeState.Left;
        if (live is NodeState.Down or NodeState.Left) return live;
        return node.State == NodeState.Draining ? NodeState.Draining : live;
    }

    /// <summary>
    /// Reads, changes and writes one node record with no other change to that node in between: a heartbeat that
    /// read the node before a drain, a cancel or a leave must not write the old state back over it.
    /// Returns the stored record, or null when the node is not registered.
    /// </summary>
    private async Task<NodeInfo?> UpdateNodeAsync(string nodeId, Func<NodeInfo?, NodeInfo?> change, CancellationToken ct)
    {
        var gate = _nodeGates.GetOrAdd(nodeId, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            var current = await Store.FindNodeAsync(nodeId, ct);
            if (current is not null && current.Id != nodeId) current = null; // a name, not this id
            var updated = change(current);
            if (updated is null) return current;
            if (!ReferenceEquals(updated, current)) await Store.UpsertNodeAsync(updated, ct);
            // Its stored state (draining, left, back) decides its live state too: the next pass looks at it.
            if (current is null || current.State != updated.State) _liveness.Touch(nodeId);
            return updated;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Asks the reconciler for a pass at its next check instead of at its next interval.</summary>
    internal void Wake() => Interlocked.Exchange(ref _wakeRequested, 1);

    /// <summary>
    /// True when a reconcile pass should run now: a node's detector state changed since the last pass, something
    /// asked for one, or a timed action (a failover hold, a retry) is due. Cheap: reads memory only.
    /// </summary>
    public bool NeedsReconcile()
    {
        if (Interlocked.Exchange(ref _wakeRequested, 0) == 1) return true;
        var now = Now.UtcTicks;
        if (now >= Interlocked.Read(ref _nextDueTicks)) return true;
        // Only nodes whose state can have changed by themselves are read (see LivenessWatch): those seen in a state
        // other than Alive, and those whose guaranteed time Alive has passed (a heartbeat of a node seen as not Alive
        // asks for a pass itself). At 10,000 nodes this is a handful per check instead of every node's detector.
        if (_liveness.CheckExpired(now, LookAgain, out var unbounded)) return true;
        foreach (var nodeId in unbounded)
            if (_observedLiveness.TryGetValue(nodeId, out var seen) && _detector.GetState(nodeId) != seen) return true;
        return false;
    }

    /// <summary>For a node whose time Alive ran out: still as seen (and until when it stays so), or changed.</summary>
    private (bool Same, long? Next) LookAgain(string nodeId)
    {
        var state = _detector.GetState(nodeId);
        if (!_observedLiveness.TryGetValue(nodeId, out var seen) || state != seen) return (false, null);
        return (true, state == NodeState.Alive ? AliveUntil(nodeId) : null);
    }

    /// <summary>Notes that a timed action is due at <paramref name="at"/>, so the reconciler runs then.</summary>
    private void DueAt(DateTimeOffset at)
    {
        var ticks = at.UtcTicks;
        long current;
        do
        {
            current = Interlocked.Read(ref _nextDueTicks);
            if (ticks >= current) return;
        }
        while (Interlocked.CompareExchange(ref _nextDueTicks, ticks, current) != current);
    }

    private Task<ClusterEvent> RecordAsync(string kind, string subject, string message, CancellationToken ct,
        string? service = null, string? node = null, string? instance = null, string? incident = null) =>
        Store.AppendEventAsync(new ClusterEvent(0, Now, kind, subject, message, service, node, instance, incident), ct);

    private string NewIncidentId() => "inc-" + RandomHex();

    /// <summary>
    /// Where node, instance and incident ids and retry jitter come from. Null (the default): ids from the
    /// cryptographic generator, jitter from <see cref="Random.Shared"/>. The simulator sets a seeded one so that a
    /// run is repeatable; used under the placement lock or by one caller at a time then (a Random is not thread-safe).
    /// </summary>
    internal Random? Randomness { get; set; }

    /// <summary>Eight lowercase hex digits for an id.</summary>
    private string RandomHex()
    {
        Span<byte> bytes = stackalloc byte[4];
        if (Randomness is { } seeded) seeded.NextBytes(bytes);
        else System.Security.Cryptography.RandomNumberGenerator.Fill(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>
    /// Builds the scheduler's view: every node with its live state and what non-terminal instances reserve on it.
    /// From the term's snapshot in memory while leading; from the store otherwise.
    /// </summary>
    internal async Task<List<NodeCandidate>> BuildCandidatesAsync(CancellationToken ct)
    {
        if (Term is { } term)
        {
            var snapshot = await term.State.SnapshotAsync(ct);
            return snapshot.NodesInOrder().Select(n => snapshot.Candidate(n, LiveState(n))).ToList();
        }
        var nodes = await Store.ListNodesAsync(ct);
        var services = (await Store.ListServicesAsync(ct)).ToDictionary(s => s.Spec.Name, StringComparer.Ordinal);
        var byNode = (await Store.ListInstancesAsync(cancellationToken: ct)).Where(i => !i.IsTerminal).ToLookup(i => i.NodeId, StringComparer.Ordinal);
        var candidates = new List<NodeCandidate>(nodes.Count);
        foreach (var node in nodes)
        {
            var allocated = Resources.Zero;
            var ports = new HashSet<int>();
            var names = new List<string>(); // one entry per instance: anti-affinity and spread count replicas
            foreach (var instance in byNode[node.Id])
            {
                if (services.TryGetValue(instance.Service, out var service)) allocated += service.Spec.Resources;
                ports.UnionWith(instance.Ports.Values);
                names.Add(instance.Service);
            }
            candidates.Add(new NodeCandidate(node with { State = LiveState(node) }, allocated, ports, names));
        }
        return candidates;
    }

    /// <summary>Creates instance records for placements, each with a fresh epoch.</summary>
    internal async Task<List<ServiceInstance>> NewInstancesAsync(string service, IReadOnlyList<Placement> placements, CancellationToken ct)
    {
        var epochs = await Store.NextEpochsAsync(placements.Count, ct);
        return placements.Select((p, i) => NewInstance(service, p, epochs[i], null, null)).ToList();
    }

    /// <summary>An instance record for a placement with its epoch, optionally taking over from another instance.</summary>
    private ServiceInstance NewInstance(string service, Placement placement, long epoch, string? replaces, string? incident)
    {
        var id = $"{service}-{RandomHex()}";
        RememberScore(id, placement);
        return new ServiceInstance(id, service, placement.NodeId, epoch, placement.Ports, InstanceState.Pending,
            "placed, waiting for the agent", Now, Now, Replaces: replaces, Incident: incident);
    }

    /// <summary>
    /// Places <paramref name="count"/> instances, preferring nodes other than <paramref name="avoidNodeId"/> when
    /// they have room (a replacement of a failed instance should run elsewhere), else anywhere. While leading, on
    /// the kept scheduling state, where the placements stay reserved: the caller commits them through
    /// <see cref="ApplyPlanAsync"/> (a refused plan rebuilds that state). Under the placement lock.
    /// </summary>
    private async Task<PlacementResult> PlaceAsync(ServiceSpec spec, int count, string? avoidNodeId, CancellationToken ct)
    {
        if (Term?.Planner is { } planner)
        {
            var state = await planner.CurrentAsync(ct);
            var pipeline = (PipelineScheduler)_scheduler;
            var result = pipeline.Place(state, spec, count);
            if (avoidNodeId is null || !result.Succeeded || result.Placements.All(p => p.NodeId != avoidNodeId)) return result;
            // It chose the node to avoid: look once more without that node, on a state of its own.
            foreach (var p in result.Placements) state.Release(state.IndexOf(p.NodeId), spec, p.Ports.Values);
            var others = (await BuildCandidatesAsync(ct)).Where(c => c.Node.Id != avoidNodeId).ToList();
            var elsewhere = _scheduler.Place(new PlacementRequest(spec, count, others));
            if (!elsewhere.Succeeded) return pipeline.Place(state, spec, count);
            planner.Invalidate(); // The kept state does not hold this placement; it is built again after the commit.
            return elsewhere;
        }
        var candidates = await BuildCandidatesAsync(ct);
        if (avoidNodeId is not null)
        {
            var elsewhere = _scheduler.Place(new PlacementRequest(spec, count, candidates.Where(c => c.Node.Id != avoidNodeId).ToList()));
            if (elsewhere.Succeeded) return elsewhere;
        }
        return _scheduler.Place(new PlacementRequest(spec, count, candidates));
    }

    /// <summary>Appends events in one go (one store write per transaction limit instead of one per event).</summary>
    private Task RecordAllAsync(IReadOnlyList<ClusterEvent> events, CancellationToken ct) =>
        events.Count == 0 ? Task.CompletedTask : Store.AppendEventsAsync(events, ct);

    private ClusterEvent NewEvent(string kind, string subject, string message,
        string? service = null, string? node = null, string? instance = null, string? incident = null) =>
        new(0, Now, kind, subject, message, service, node, instance, incident);

    private async Task<string> NodeNameAsync(string nodeId, CancellationToken ct) =>
        (await Store.FindNodeAsync(nodeId, ct))?.Name ?? nodeId;

    /// <summary>First retry wait doubled per attempt up to the cap, plus up to 10% random jitter so retries of many services spread out.</summary>
    private TimeSpan Backoff(int attempt)
    {
        var baseMs = _options.RetryBackoff.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt - 1, 0, 30));
        var capped = Math.Min(_options.MaxRetryBackoff.TotalMilliseconds, baseMs);
        return TimeSpan.FromMilliseconds(capped * (1 + (Randomness ?? Random.Shared).NextDouble() * 0.1));
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " s";
}
