namespace VirtualCluster.Scheduling;

/// <summary>
/// A node as the scheduler sees it: its registration plus what is already reserved on it.
/// </summary>
/// <param name="Node">The node.</param>
/// <param name="Allocated">Sum of the resources reserved by the instances placed on it.</param>
/// <param name="UsedPorts">Host ports already handed out on it.</param>
/// <param name="Services">Names of services with an instance on it (for anti-affinity and spread).</param>
public sealed record NodeCandidate(
    NodeInfo Node,
    Resources Allocated,
    IReadOnlySet<int> UsedPorts,
    IReadOnlyCollection<string> Services)
{
    /// <summary>Capacity minus allocation, per dimension.</summary>
    public Resources Free => Node.Capacity - Allocated;
}

/// <summary>Place <paramref name="Count"/> new instances of <paramref name="Spec"/> on <paramref name="Nodes"/>.</summary>
public sealed record PlacementRequest(ServiceSpec Spec, int Count, IReadOnlyList<NodeCandidate> Nodes);

/// <summary>One chosen node for one instance, with the host ports assigned there.</summary>
/// <param name="NodeId">Chosen node.</param>
/// <param name="Ports">Host port per named port of the spec.</param>
/// <param name="Score">Final score of the node (0..100), for explanations.</param>
/// <param name="Scores">Score of the node per scorer (0..100 each) when the scheduler reports them; null otherwise.</param>
public sealed record Placement(string NodeId, IReadOnlyDictionary<string, int> Ports, double Score, IReadOnlyDictionary<string, double>? Scores = null);

/// <summary>Why one resource dimension stopped the placement.</summary>
/// <param name="Resource">"cpu", "memory", "disk", "ports", "driver", "state", or "constraint".</param>
/// <param name="Requested">Amount one instance needs (millicores, bytes or port count; 0 where not numeric).</param>
/// <param name="LargestFree">Most of it free on any one node considered.</param>
/// <param name="LargestFreeNode">Name of that node, if any.</param>
/// <param name="NodesLacking">How many nodes lacked it.</param>
public sealed record ResourceShortfall(string Resource, long Requested, long LargestFree, string? LargestFreeNode, int NodesLacking);

/// <summary>Why a placement failed, per dimension, plus a one-line summary for users.</summary>
/// <param name="Message">One readable sentence.</param>
/// <param name="NodesConsidered">Nodes the scheduler looked at.</param>
/// <param name="Shortfalls">Per dimension, how many nodes lacked it and the most any node had free.</param>
/// <param name="Filters">How many nodes each filter removed, per dimension, in pipeline order (null from schedulers that do not report it).</param>
/// <param name="ClosestFit">The node that came nearest to fitting and what it lacked, when one passed every non-resource filter.</param>
public sealed record PlacementFailure(
    string Message,
    int NodesConsidered,
    IReadOnlyList<ResourceShortfall> Shortfalls,
    IReadOnlyList<FilterOutcome>? Filters = null,
    ClosestFit? ClosestFit = null);

/// <summary>Result of <see cref="IScheduler.Place"/>: all requested placements, or none and a failure.</summary>
public sealed record PlacementResult(IReadOnlyList<Placement> Placements, PlacementFailure? Failure)
{
    /// <summary>True when every requested instance was placed.</summary>
    public bool Succeeded => Failure is null;

    /// <summary>A successful result.</summary>
    public static PlacementResult Success(IReadOnlyList<Placement> placements) => new(placements, null);

    /// <summary>A failed result; no placement is returned, so nothing is half-deployed.</summary>
    public static PlacementResult Fail(PlacementFailure failure) => new([], failure);
}

/// <summary>
/// Chooses nodes for new instances. Implementations are pure: same request, same result; they never mutate
/// the request. Placement is all-or-nothing: either <see cref="PlacementRequest.Count"/> placements are
/// returned, or none and a <see cref="PlacementFailure"/> that names the dimensions that ran out.
/// Placements of one request account for each other (two instances never get the same port or overcommit a node).
/// </summary>
public interface IScheduler
{
    /// <summary>Strategy name, e.g. "best-fit".</summary>
    string Name { get; }

    /// <summary>Places the requested instances or explains why they do not fit.</summary>
    PlacementResult Place(PlacementRequest request);
}
