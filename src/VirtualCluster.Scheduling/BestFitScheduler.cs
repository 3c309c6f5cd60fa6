namespace VirtualCluster.Scheduling;

/// <summary>
/// Best-fit placement: each instance goes to the feasible node that would be fullest afterwards (mean of CPU and
/// memory shares), which packs services tightly and keeps whole nodes free for large ones.
/// </summary>
/// <remarks>
/// A node is feasible when it is <see cref="NodeState.Alive"/>, offers the spec's driver, has every label the
/// placement constraints ask for, has enough free CPU, memory and disk, and has a free host port in its range
/// for each of the spec's ports. Instances are placed one at a time on a private copy of the nodes, so they
/// account for each other; each takes the lowest free ports. Equal scores go to the node whose name sorts first
/// (ordinal), so the same request always gives the same answer. When an instance does not fit, nothing is placed
/// and the failure explains, per dimension, what ran out.
/// </remarks>
public sealed class BestFitScheduler : IScheduler
{
    /// <inheritdoc />
    public string Name => "best-fit";

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException">The request asks for a negative number of instances.</exception>
    public PlacementResult Place(PlacementRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfNegative(request.Count);
        if (request.Count == 0) return PlacementResult.Success([]);
        if (request.Nodes.Count == 0) return PlacementResult.Fail(PlacementExplainer.NoNodes());

        var spec = request.Spec;
        var need = spec.Resources;
        var slots = request.Nodes.Select(n => new NodeSlot(n)).ToList();
        var eligible = slots.Where(s => NodeFilters.PassesAll(s, spec)).ToList();
        var placements = new List<Placement>(request.Count);
        for (var placed = 0; placed < request.Count; placed++)
        {
            var best = Choose(eligible, need, spec.Ports.Count);
            if (best is null) return PlacementResult.Fail(PlacementExplainer.Explain(request, slots, placed));
            var (slot, score) = best.Value;
            placements.Add(new Placement(slot.Node.Id, slot.Take(need, spec.Ports), score));
        }
        return PlacementResult.Success(placements);
    }

    private static (NodeSlot Slot, double Score)? Choose(List<NodeSlot> eligible, Resources need, int ports)
    {
        (NodeSlot Slot, double Score)? best = null;
        foreach (var slot in eligible)
        {
            if (!slot.Fits(need, ports)) continue;
            var score = slot.Score(need);
            if (best is null || score > best.Value.Score || (score == best.Value.Score && Before(slot, best.Value.Slot)))
                best = (slot, score);
        }
        return best;
    }

    // Names should be unique, but ids break the tie if they are not, so input order never matters.
    private static bool Before(NodeSlot a, NodeSlot b)
    {
        var byName = string.CompareOrdinal(a.Name, b.Name);
        return byName < 0 || (byName == 0 && string.CompareOrdinal(a.Node.Id, b.Node.Id) < 0);
    }
}
