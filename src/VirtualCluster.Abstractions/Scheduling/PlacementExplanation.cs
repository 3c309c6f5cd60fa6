namespace VirtualCluster.Scheduling;

/// <summary>How many nodes one filter removed, split by the dimension each lacked.</summary>
/// <param name="Filter">Filter name (see the scheduler's FilterNames).</param>
/// <param name="Removed">Nodes this filter removed (each node is counted by the first filter it fails).</param>
/// <param name="ByDimension">Nodes lacking each dimension ("memory", "cpu", "constraint zone=eu"); a node short of two resources counts under both.</param>
public sealed record FilterOutcome(string Filter, int Removed, IReadOnlyDictionary<string, int> ByDimension);

/// <summary>The node that came nearest to fitting, with what it lacked.</summary>
/// <param name="NodeId">Node id.</param>
/// <param name="NodeName">Node name.</param>
/// <param name="Missing">Amount lacking per dimension (millicores, bytes, GPUs or ports).</param>
public sealed record ClosestFit(string NodeId, string NodeName, IReadOnlyDictionary<string, long> Missing);

/// <summary>One node's score for one instance: the normalized total and each scorer's own 0..100 score.</summary>
public sealed record NodeScore(string NodeId, string NodeName, double Total, IReadOnlyDictionary<string, double> Scorers);

/// <summary>Why the scheduler would put the next instance where it would, or why it could not.</summary>
/// <param name="Strategy">Strategy that ranked the nodes.</param>
/// <param name="NodesConsidered">Every node known.</param>
/// <param name="NodesFeasible">Nodes that passed every filter.</param>
/// <param name="Filters">Per filter, how many nodes it removed.</param>
/// <param name="Ranking">Feasible nodes, best first (at most the number asked for).</param>
/// <param name="Failure">Set when no node is feasible.</param>
public sealed record PlacementExplanation(
    string Strategy,
    int NodesConsidered,
    int NodesFeasible,
    IReadOnlyList<FilterOutcome> Filters,
    IReadOnlyList<NodeScore> Ranking,
    PlacementFailure? Failure);

/// <summary>Move one instance to another node.</summary>
/// <param name="Gain">How much the imbalance falls with this move (in squared utilization share).</param>
public sealed record RebalanceMove(string InstanceId, string Service, string FromNodeId, string FromNode, string ToNodeId, string ToNode, double Gain);

/// <summary>A rebalancing plan: moves in order, and the imbalance (population variance of node utilization) before and after.</summary>
/// <param name="FreedNodes">Names of the nodes the moves leave with nothing reserved (a consolidation plan; null for a plan that evens out utilization).</param>
public sealed record RebalancePlan(IReadOnlyList<RebalanceMove> Moves, double ImbalanceBefore, double ImbalanceAfter, int Budget, string Summary,
    IReadOnlyList<string>? FreedNodes = null);
