using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Api;
using VirtualCluster.Membership;
using VirtualCluster.Scheduling;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Cluster;

/// <summary>
/// The control plane's operations: deploy, remove, agent join and heartbeat, status views.
/// Anything that places instances runs under one lock, so a deploy and the reconciler never
/// hand out the same capacity or port twice.
/// </summary>
public sealed partial class ClusterService
{
    private readonly IClusterStore _store;
    private readonly IScheduler _scheduler;
    private readonly IFailureDetector _detector;
    private readonly TimeProvider _time;
    private readonly ControlPlaneOptions _options;
    private readonly ILogger<ClusterService> _logger;
    private readonly SemaphoreSlim _placementLock = new(1, 1);
    private readonly ControlPlaneMetrics? _metrics;

    public ClusterService(
        IClusterStore store,
        IScheduler scheduler,
        IFailureDetector detector,
        TimeProvider time,
        IOptions<ControlPlaneOptions> options,
        ILogger<ClusterService> logger,
        ControlPlaneMetrics? metrics = null)
    {
        _metrics = metrics;
        _store = store;
        _scheduler = scheduler;
        _detector = detector;
        _time = time;
        _options = options.Value;
        _logger = logger;
    }

    private DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>Node state as the detector sees it now; Left is sticky.</summary>
    internal NodeState LiveState(NodeInfo node) =>
        node.State == NodeState.Left ? NodeState.Left : _detector.GetState(node.Id);

    private Task<ClusterEvent> RecordAsync(string kind, string subject, string message, CancellationToken ct) =>
        _store.AppendEventAsync(new ClusterEvent(0, Now, kind, subject, message), ct);

    /// <summary>
    /// Builds the scheduler's view: every node with its live state and what non-terminal instances reserve on it.
    /// </summary>
    internal async Task<List<NodeCandidate>> BuildCandidatesAsync(CancellationToken ct)
    {
        var nodes = await _store.ListNodesAsync(ct);
        var services = (await _store.ListServicesAsync(ct)).ToDictionary(s => s.Spec.Name, StringComparer.Ordinal);
        var instances = await _store.ListInstancesAsync(cancellationToken: ct);
        var candidates = new List<NodeCandidate>(nodes.Count);
        foreach (var node in nodes)
        {
            var allocated = Resources.Zero;
            var ports = new HashSet<int>();
            var names = new List<string>(); // one entry per instance: anti-affinity and spread count replicas
            foreach (var instance in instances)
            {
                if (instance.NodeId != node.Id || instance.IsTerminal) continue;
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
        var result = new List<ServiceInstance>(placements.Count);
        foreach (var placement in placements)
        {
            var epoch = await _store.NextEpochAsync(ct);
            var id = $"{service}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}";
            result.Add(new ServiceInstance(id, service, placement.NodeId, epoch, placement.Ports, InstanceState.Pending,
                "placed, waiting for the agent", Now, Now));
            RememberScore(id, placement);
        }
        return result;
    }
}
