using System.Collections.Concurrent;
using VirtualCluster.Api;
using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Cluster;

public sealed partial class ClusterService
{
    private const int MaxRememberedScores = 10_000;
    private const int FitLimit = 200;

    private static readonly PipelineScheduler FallbackPipeline = new();

    // Scores of the nodes chosen for instances this process placed, for views and explanations.
    private readonly ConcurrentDictionary<string, (double Total, IReadOnlyDictionary<string, double>? Scorers)> _placementScores = new(StringComparer.Ordinal);

    /// <summary>
    /// The pipeline scheduler used for explanations, capacity and rebalancing: the configured scheduler when it is
    /// one, otherwise a default one (so a custom <see cref="IScheduler"/> still gets explanations).
    /// </summary>
    internal PipelineScheduler Pipeline => _scheduler as PipelineScheduler ?? FallbackPipeline;

    /// <summary>Remembers the score of a placement for <see cref="InstanceView.Score"/>; bounded, oldest forgotten first.</summary>
    internal void RememberScore(string instanceId, Placement placement)
    {
        if (_placementScores.Count >= MaxRememberedScores)
            foreach (var key in _placementScores.Keys.Take(MaxRememberedScores / 10)) _placementScores.TryRemove(key, out _);
        _placementScores[instanceId] = (placement.Score, placement.Scores);
    }

    private NodeScore? ScoreAtPlacement(ServiceInstance instance, NodeInfo? node) =>
        _placementScores.TryGetValue(instance.Id, out var score)
            ? new NodeScore(instance.NodeId, node?.Name ?? instance.NodeId, score.Total, score.Scorers ?? new Dictionary<string, double>())
            : null;

    /// <summary>
    /// Explains a service's placement: each live instance with the score of its node at placement (when known) and
    /// now (with its own reservation set aside), and where one more instance would go or why it would not fit.
    /// Null when the service is unknown.
    /// </summary>
    public async Task<ServiceExplanation?> ExplainAsync(string name, CancellationToken ct)
    {
        var service = await Store.GetServiceAsync(name, ct);
        if (service is null) return null;
        var spec = service.Spec;
        var candidates = await BuildCandidatesAsync(ct);
        var pipeline = Pipeline;
        var state = pipeline.CreateState(candidates);
        var instances = new List<InstanceScore>();
        foreach (var instance in (await Store.ListInstancesAsync(service: name, cancellationToken: ct)).OrderBy(i => i.CreatedAt).ThenBy(i => i.Id, StringComparer.Ordinal))
        {
            var index = state.IndexOf(instance.NodeId);
            var node = index >= 0 ? state.Node(index) : null;
            NodeScore? current = null;
            if (index >= 0 && !instance.IsTerminal)
            {
                state.ReleaseResources(index, spec);
                current = pipeline.Pipeline.ScoreNode(pipeline.Pipeline.CreateContext(state, spec), index);
                state.ReserveResources(index, spec);
            }
            instances.Add(new InstanceScore(instance.Id, node?.Name ?? instance.NodeId, instance.State, ScoreAtPlacement(instance, node), current));
        }
        return new ServiceExplanation(name, instances, pipeline.Explain(state, spec));
    }
}
