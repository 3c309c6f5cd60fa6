using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.Membership.ClusterState;
using VirtualCluster.Scheduling;
using VirtualCluster.Simulator.Scenarios;

namespace VirtualCluster.Simulator.Engine;

// Invariants, placement quality and failover timelines.
internal sealed partial class Simulation
{
    private const string Capacity = "capacity", SingletonOnce = "singleton-once", Placement = "placement", NoWriteLost = "no-write-lost";
    private readonly Dictionary<string, List<Violation>> _violations = new(StringComparer.Ordinal)
    {
        [Capacity] = [], [SingletonOnce] = [], [Placement] = [], [NoWriteLost] = [],
    };
    private readonly Dictionary<string, long> _checks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TimeSpan> _placementShort = new(StringComparer.Ordinal);
    private readonly List<QualitySample> _samples = [];
    private readonly List<FaultRecord> _faults = [];
    private readonly List<FailoverTimeline> _failovers = [];
    private readonly Dictionary<string, FailoverTimeline> _byIncident = new(StringComparer.Ordinal);
    private KvClusterStore? _reader;
    private long _peakInstances;

    private TimeSpan PlacementCheckInterval => Max(TimeSpan.FromSeconds(10), _settings.PlacementGrace / 4);

    private void Violation(string invariant, string detail)
    {
        _violations[invariant].Add(new Violation(Elapsed, invariant, detail));
        _log.Sim(Elapsed, "sim.violation", $"{invariant}: {detail}");
    }

    private void Checked(string invariant, long count = 1) => _checks[invariant] = _checks.GetValueOrDefault(invariant) + count;

    private ClusterSnapshot Snapshot() => Sync(_cluster.Term!.State.SnapshotAsync(default));

    /// <summary>What the control plane holds reserved on each node (non-terminal instances), by node id.</summary>
    private static Dictionary<string, NodeCandidate> Allocations(ClusterSnapshot snapshot, Func<NodeInfo, NodeState> state)
    {
        var result = new Dictionary<string, NodeCandidate>(snapshot.Nodes.Count, StringComparer.Ordinal);
        foreach (var node in snapshot.Nodes.Values.OrderBy(n => n.Name, StringComparer.Ordinal)) result[node.Id] = snapshot.Candidate(node, state(node));
        return result;
    }

    /// <summary>
    /// Every desired instance placed when capacity exists: a service short of replicas while some live node that
    /// reaches the control plane has room for one more must not stay short longer than the placement grace.
    /// </summary>
    private void CheckPlacement()
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var snapshot = Snapshot();
        Dictionary<string, NodeCandidate>? allocations = null;
        // Counted again only when some instance changed since the last check (heartbeats that change nothing keep
        // the same instance table), in one walk over the instances rather than a lookup per instance per service.
        if (!ReferenceEquals(_placedCountedIn, snapshot.Instances))
        {
            _placedCounts.Clear();
            foreach (var instance in snapshot.Instances.Values)
                if (!instance.IsTerminal) _placedCounts[instance.Service] = _placedCounts.GetValueOrDefault(instance.Service) + 1;
            _placedCountedIn = snapshot.Instances;
        }
        foreach (var (name, service) in _active)
        {
            Checked(Placement);
            var placed = _placedCounts.GetValueOrDefault(name);
            if (placed >= service.Spec.Replicas || !RoomFor(service.Spec, allocations ??= Allocations(snapshot, _cluster.LiveState)))
            {
                _placementShort.Remove(name);
                continue;
            }
            if (!_placementShort.TryGetValue(name, out var since)) _placementShort[name] = Elapsed;
            else if (Elapsed - since > _settings.PlacementGrace)
            {
                Violation(Placement, $"{name} has {placed} of {service.Spec.Replicas} replicas placed since {SimulationReport.Stamp(since)} while live nodes have room");
                _placementShort[name] = Elapsed;
            }
        }
        After(PlacementCheckInterval, CheckPlacement);
        Timed("placement checks", started);
    }

    private readonly Dictionary<string, int> _placedCounts = new(StringComparer.Ordinal);
    private object? _placedCountedIn;

    private bool RoomFor(ServiceSpec spec, Dictionary<string, NodeCandidate> allocations)
    {
        foreach (var candidate in allocations.Values)
        {
            var node = candidate.Node;
            if (node.State != NodeState.Alive || _agentsByName.GetValueOrDefault(node.Name)?.Status != AgentStatus.Up) continue;
            var free = node.Capacity - candidate.Allocated;
            var r = spec.Resources;
            if (r.CpuMillicores > free.CpuMillicores || r.MemoryBytes > free.MemoryBytes || r.DiskBytes > free.DiskBytes || r.Gpus > free.Gpus) continue;
            if (node.Ports.Last - node.Ports.First + 1 - candidate.UsedPorts.Count < spec.Ports.Count) continue;
            return true;
        }
        return false;
    }

    /// <summary>Placement quality and the capacity invariant on the control plane's reservations.</summary>
    private void Sample()
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var snapshot = Snapshot();
        var allocations = Allocations(snapshot, _cluster.LiveState);
        int alive = 0, used = 0;
        double cpu = 0, memory = 0, maxCpu = 0;
        foreach (var c in allocations.Values)
        {
            Checked(Capacity);
            var cap = c.Node.Capacity;
            var a = c.Allocated;
            if (a.CpuMillicores > cap.CpuMillicores || a.MemoryBytes > cap.MemoryBytes || a.DiskBytes > cap.DiskBytes || a.Gpus > cap.Gpus)
                Violation(Capacity, $"the control plane reserves {a} on {c.Node.Name} of {cap}");
            if (c.Node.State == NodeState.Alive) alive++;
            if (a.CpuMillicores == 0 && a.MemoryBytes == 0) continue;
            used++;
            var share = (double)a.CpuMillicores / cap.CpuMillicores;
            cpu += share;
            memory += (double)a.MemoryBytes / cap.MemoryBytes;
            maxCpu = Math.Max(maxCpu, share);
        }
        var desired = _active.Values.Sum(s => s.Spec.Replicas);
        var placed = 0;
        var running = 0;
        foreach (var name in _active.Keys)
        {
            foreach (var i in snapshot.InstancesOf(name))
            {
                if (i.IsTerminal) continue;
                placed++;
                if (i.State == InstanceState.Running) running++;
            }
        }
        _peakInstances = Math.Max(_peakInstances, snapshot.Instances.Count);
        var sample = new QualitySample(Elapsed, alive, used, desired, placed, running, used == 0 ? 0 : cpu / used, used == 0 ? 0 : memory / used, maxCpu);
        _samples.Add(sample);
        _log.Sim(Elapsed, "sim.sample", string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"alive {alive}, used {used}, desired {desired}, placed {placed}, running {running}, cpu {sample.MeanCpuAllocated:P1}, memory {sample.MeanMemoryAllocated:P1}"));
        CompareStoreWithMemory();
        After(_settings.SampleInterval, Sample);
        Timed("samples and store comparisons", started);
    }

    /// <summary>
    /// No write lost: what the store holds, read by a reader of its own, is what the control plane's memory says it
    /// wrote (every service, every instance with its node, epoch and state, every node's state and capacity), and the
    /// event sequence has no gap.
    /// </summary>
    private void CompareStoreWithMemory()
    {
        Checked(NoWriteLost);
        _reader ??= new KvClusterStore(_kv);
        var snapshot = Snapshot();
        var services = Sync(_reader.ListServicesAsync());
        if (services.Count != snapshot.Services.Count || services.Any(s => !snapshot.Services.ContainsKey(s.Spec.Name)))
            Violation(NoWriteLost, $"the store holds {services.Count} services, memory {snapshot.Services.Count}");
        var stored = Sync(_reader.ListInstancesAsync());
        var mismatched = 0;
        string? first = null;
        foreach (var s in stored)
        {
            if (snapshot.Instances.TryGetValue(s.Id, out var m) && m.NodeId == s.NodeId && m.Epoch == s.Epoch && m.State == s.State) continue;
            mismatched++;
            first ??= $"{s.Id} ({s.State} on {s.NodeId}, epoch {s.Epoch}) is {(m is null ? "not in memory" : $"{m.State} on {m.NodeId}, epoch {m.Epoch} in memory")}";
        }
        if (stored.Count != snapshot.Instances.Count || mismatched > 0)
            Violation(NoWriteLost, $"the store holds {stored.Count} instances, memory {snapshot.Instances.Count}; {mismatched} differ{(first is null ? "" : ", e.g. " + first)}");
        foreach (var n in Sync(_reader.ListNodesAsync()))
        {
            if (!snapshot.Nodes.TryGetValue(n.Id, out var m) || m.State != n.State || m.Capacity != n.Capacity)
                Violation(NoWriteLost, $"node {n.Name} is {n.State} with {n.Capacity} in the store, {m?.State.ToString() ?? "missing"} in memory");
        }
        foreach (var gap in _log.Gaps) Violation(NoWriteLost, gap);
        _log.Gaps.Clear();
    }

    /// <summary>Builds failover timelines from the control plane's events, by incident.</summary>
    private void Observe(ClusterEvent e, TimeSpan at)
    {
        if (e.Incident is null) return;
        if (e.Kind == EventKinds.NodeDown && e.Node is not null)
        {
            var fault = _agentsByName.GetValueOrDefault(e.Node)?.LastFault;
            var timeline = new FailoverTimeline(e.Node, fault?.Kind, fault?.At, at);
            _failovers.Add(timeline);
            _byIncident[e.Incident] = timeline;
            return;
        }
        if (!_byIncident.TryGetValue(e.Incident, out var t)) return;
        switch (e.Kind)
        {
            case EventKinds.InstanceLost:
                t.Lost++;
                break;
            case EventKinds.InstancePlaced:
                t.Placed++;
                t.LastPlaced = at;
                break;
            case "instance.running":
                t.Running++;
                t.LastRunning = at;
                break;
        }
    }

    private SimulationReport BuildReport(TimeSpan wall)
    {
        var descriptions = new Dictionary<string, string>
        {
            [Capacity] = "what a node is given never exceeds its capacity (on the agent and in the control plane's reservations)",
            [SingletonOnce] = "no singleton runs twice at any moment across all agents",
            [Placement] = $"every desired instance is placed within {Words(_settings.PlacementGrace)} when a live node has room",
            [NoWriteLost] = "the store holds exactly what the control plane's memory says it wrote; no event sequence gap",
        };
        var invariants = _violations.Select(v => new InvariantResult(v.Key, descriptions[v.Key], _checks.GetValueOrDefault(v.Key), v.Value)).ToList();
        return new SimulationReport(_settings, wall, _log.Hash!, _log.Lines, _log.ControlPlaneEvents, _log.Kinds, invariants, _samples, _faults,
            _failovers, _kv.Transactions, _peakInstances, _heartbeats, _wallByPart);
    }
}
