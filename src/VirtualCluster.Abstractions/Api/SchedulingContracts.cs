using VirtualCluster.Scheduling;

namespace VirtualCluster.Api;

/// <summary>One instance of a service with the score of its node: at placement (if known) and now.</summary>
/// <param name="ScoreAtPlacement">Scores recorded when the instance was placed by this control-plane process; null after a restart.</param>
/// <param name="Current">How its node scores now for this service, with the instance's own reservation set aside.</param>
public sealed record InstanceScore(string InstanceId, string NodeName, InstanceState State, NodeScore? ScoreAtPlacement, NodeScore? Current);

/// <summary>Answer of GET /v1/services/{name}/explain.</summary>
/// <param name="Service">Service name.</param>
/// <param name="Instances">Each instance with its node's scores.</param>
/// <param name="NextInstance">Where one more instance would go, and the filters on the way; or why it would not fit.</param>
public sealed record ServiceExplanation(string Service, IReadOnlyList<InstanceScore> Instances, PlacementExplanation NextInstance);

/// <summary>Body of POST /v1/rebalance.</summary>
/// <param name="DryRun">Only compute the plan (the default).</param>
/// <param name="MaxMoves">Disruption budget: most instances moved; default 5, at most 100.</param>
/// <param name="Consolidate">Pack the instances onto fewer nodes (free whole nodes) instead of evening out utilization.</param>
public sealed record RebalanceRequest(bool DryRun = true, int? MaxMoves = null, bool Consolidate = false);

/// <summary>Answer of POST /v1/rebalance.</summary>
/// <param name="Plan">The plan.</param>
/// <param name="Applied">True when the moves were started (new instances placed; the old ones stop once the new run).</param>
/// <param name="NewInstances">Ids of the instances created by applying the plan.</param>
/// <param name="Deferred">
/// Instances of the plan not moved yet: their target has room only once an earlier move has finished (the instance
/// it replaces keeps its reservation until the new one runs). Rebalancing again after those moves finish starts them.
/// </param>
public sealed record RebalanceResponse(RebalancePlan Plan, bool Applied, IReadOnlyList<string> NewInstances, IReadOnlyList<string>? Deferred = null);
