using System.Globalization;

namespace VirtualCluster.Scheduling;

/// <summary>An instance as it runs now, for rebalancing.</summary>
/// <param name="InstanceId">Instance id.</param>
/// <param name="Spec">Its service's spec.</param>
/// <param name="NodeId">Node it runs on.</param>
public sealed record PlacedInstance(string InstanceId, ServiceSpec Spec, string NodeId);

/// <summary>
/// Proposes moves that even out node utilization, for example after a node joins or comes back empty, within a
/// disruption budget (the most instances moved).
/// </summary>
/// <remarks>
/// <para>Utilization of a node is its dominant share, u = max(cpu share, memory share) of effective use; imbalance
/// is the population variance of u over Alive nodes. Greedy: each round tries moving each instance from one of the
/// most-loaded nodes (above the mean) to one of the least-loaded (below it), keeps the move that lowers the
/// imbalance most, and stops when the budget is spent or no move gains at least <c>minGain</c>.</para>
/// <para>Every move passes the full filter pipeline on the target, with the instance's own reservation released
/// from its source first, so constraints, required anti-affinity and topology spread hold after each move. A move
/// never puts a replica next to another of the same service when its anti-affinity is preferred (required is a
/// filter anyway), and an
/// instance moves at most once per plan. Ports are not reserved by the plan; applying it places new instances.</para>
/// </remarks>
public static partial class RebalancePlanner
{
    /// <summary>Most source and target nodes examined per round, which bounds a round to O(64 × instances) checks.</summary>
    public const int NodesPerSide = 32;

    /// <summary>Computes a plan.</summary>
    /// <param name="scheduler">Supplies the pipeline and options.</param>
    /// <param name="nodes">Nodes with their current reservations (including the instances listed).</param>
    /// <param name="instances">Movable instances.</param>
    /// <param name="maxMoves">Disruption budget, 0 to 1000.</param>
    /// <param name="minGain">Smallest fall of the imbalance worth one move (default 0.0001).</param>
    public static RebalancePlan Plan(PipelineScheduler scheduler, IReadOnlyList<NodeCandidate> nodes, IReadOnlyList<PlacedInstance> instances,
        int maxMoves, double minGain = 1e-4)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(instances);
        ArgumentOutOfRangeException.ThrowIfNegative(maxMoves);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMoves, 1000);
        var state = scheduler.CreateState(nodes);
        var alive = Enumerable.Range(0, state.Count).Where(state.IsAlive).ToList();
        var before = Imbalance(state, alive);
        var moves = new List<RebalanceMove>();
        var located = instances.Where(i => i?.Spec is not null).Select(i => (Instance: i, Node: state.IndexOf(i.NodeId)))
            .Where(x => x.Node >= 0).ToList();
        var moved = new HashSet<string>(StringComparer.Ordinal);
        var current = before;
        while (moves.Count < maxMoves)
        {
            var best = BestMove(scheduler.Pipeline, state, alive, located, moved, current);
            if (best is null || current - best.Value.After < minGain) break;
            var (index, target, after) = best.Value;
            var (instance, source) = located[index];
            state.ReleaseResources(source, instance.Spec);
            state.ReserveResources(target, instance.Spec);
            located[index] = (instance, target);
            moved.Add(instance.InstanceId);
            moves.Add(new RebalanceMove(instance.InstanceId, instance.Spec.Name, state.Node(source).Id, state.Node(source).Name,
                state.Node(target).Id, state.Node(target).Name, Math.Round(current - after, 6)));
            current = after;
        }
        var summary = moves.Count == 0
            ? string.Create(CultureInfo.InvariantCulture, $"nothing to move: no move within the budget lowers the imbalance ({before:0.0000}) by {minGain}")
            : string.Create(CultureInfo.InvariantCulture, $"{moves.Count} move(s) lower the imbalance from {before:0.0000} to {current:0.0000}");
        return new RebalancePlan(moves, Math.Round(before, 6), Math.Round(current, 6), maxMoves, summary);
    }

    private static (int Index, int Target, double After)? BestMove(PlacementPipeline pipeline, ClusterState state, List<int> alive,
        List<(PlacedInstance Instance, int Node)> located, HashSet<string> moved, double current)
    {
        if (alive.Count < 2) return null;
        var load = alive.ToDictionary(i => i, i => Utilization(state, i));
        var mean = load.Values.Average();
        var sources = alive.Where(i => load[i] > mean).OrderByDescending(i => load[i]).ThenBy(i => i).Take(NodesPerSide).ToHashSet();
        var targets = alive.Where(i => load[i] < mean).OrderBy(i => load[i]).ThenBy(i => i).Take(NodesPerSide).ToList();
        (int Index, int Target, double After)? best = null;
        for (var k = 0; k < located.Count; k++)
        {
            var (instance, source) = located[k];
            if (!sources.Contains(source) || moved.Contains(instance.InstanceId)) continue;
            state.ReleaseResources(source, instance.Spec);
            var context = pipeline.CreateContext(state, instance.Spec);
            foreach (var target in targets)
            {
                var preferApart = instance.Spec.Placement.AntiAffinity == AntiAffinityMode.Preferred;
                if ((preferApart && state.ServiceCount(target, instance.Spec.Name) > 0) || !pipeline.IsFeasible(context, target)) continue;
                state.ReserveResources(target, instance.Spec);
                var after = Imbalance(state, alive);
                state.ReleaseResources(target, instance.Spec);
                if (after < current && (best is null || after < best.Value.After)) best = (k, target, after);
            }
            state.ReserveResources(source, instance.Spec);
        }
        return best;
    }

    /// <summary>Population variance of the dominant share over the given nodes.</summary>
    public static double Imbalance(ClusterState state, IReadOnlyList<int> nodes)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(nodes);
        if (nodes.Count == 0) return 0;
        double sum = 0, squares = 0;
        foreach (var i in nodes)
        {
            var u = Utilization(state, i);
            sum += u;
            squares += u * u;
        }
        var mean = sum / nodes.Count;
        return Math.Max(0, squares / nodes.Count - mean * mean);
    }

    /// <summary>Dominant share of a node: the larger of its CPU and memory shares of effective use.</summary>
    public static double Utilization(ClusterState state, int node)
    {
        ArgumentNullException.ThrowIfNull(state);
        var cap = state.Capacity(node);
        var used = state.Used(node);
        double Share(long u, long c) => c <= 0 ? 0 : Math.Clamp((double)u / c, 0, 1);
        return Math.Max(Share(used.CpuMillicores, cap.CpuMillicores), Share(used.MemoryBytes, cap.MemoryBytes));
    }
}
