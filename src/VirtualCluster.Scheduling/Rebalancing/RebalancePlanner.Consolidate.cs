using System.Globalization;

namespace VirtualCluster.Scheduling;

public static partial class RebalancePlanner
{
    /// <summary>
    /// Proposes moves that free whole nodes (pack the instances onto fewer machines), using the batch improvement
    /// phase (<see cref="BatchAlgorithm.Best"/>): first its local search, which moves few instances, then whole
    /// re-packings when the local search frees nothing within the budget.
    /// </summary>
    /// <remarks>
    /// <para>Only layouts that use fewer nodes are proposed, and only in an order that can be applied one move at a
    /// time: each move, made after the ones before it, passes every filter of the pipeline on its target with the
    /// instance released from its source. A layout that needs more than <paramref name="maxMoves"/> moves, or that
    /// cannot be ordered so (instances that would have to trade places at once), is not proposed; the summary says so.</para>
    /// <para>Instances with required anti-affinity or topology spread stay where they are, and a node that runs work
    /// not listed in <paramref name="instances"/> is never emptied. <see cref="RebalanceMove.Gain"/> is the fall of
    /// the imbalance (which usually rises: consolidating is the opposite of evening out).</para>
    /// </remarks>
    /// <param name="scheduler">Supplies the pipeline and options.</param>
    /// <param name="nodes">Nodes with their current reservations (including the instances listed).</param>
    /// <param name="instances">Movable instances.</param>
    /// <param name="maxMoves">Disruption budget, 0 to 1000.</param>
    /// <param name="options">Time budget (default 100 ms), clock and seed of the search.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static RebalancePlan Consolidate(PipelineScheduler scheduler, IReadOnlyList<NodeCandidate> nodes, IReadOnlyList<PlacedInstance> instances,
        int maxMoves, BatchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(instances);
        ArgumentOutOfRangeException.ThrowIfNegative(maxMoves);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMoves, 1000);
        options ??= new BatchOptions();
        if (options.Validate() is { Count: > 0 } errors) throw new ArgumentException("invalid batch options: " + string.Join(" ", errors), nameof(options));
        var state = scheduler.CreateState(nodes);
        var alive = Enumerable.Range(0, state.Count).Where(state.IsAlive).ToList();
        var before = Imbalance(state, alive);
        var located = instances.Where(i => i?.Spec is not null).Select(i => (Instance: i, Node: state.IndexOf(i.NodeId)))
            .Where(x => x.Node >= 0).ToList();
        var specs = located.Select(x => x.Instance.Spec).ToList();
        var from = located.Select(x => x.Node).ToArray();
        var usedBefore = BatchPlacer.NodesUsed(state);
        var time = options.TimeProvider;
        var deadline = time.GetTimestamp() + (long)(options.ImprovementBudget.TotalSeconds * time.TimestampFrequency);
        bool Expired() => time.GetTimestamp() >= deadline;
        string? refused = null;
        // Local search first (few moves); whole re-packings only if that frees nothing that fits the budget.
        foreach (var constructions in new[] { 0, 16 })
        {
            if (Expired()) break;
            var to = from.ToArray();
            var freed = LayoutSearch.Improve(scheduler.Pipeline, state, specs, to, options.Seed, Expired, constructions: constructions);
            if (freed == 0) continue;
            var order = Order(scheduler.Pipeline, nodes, specs, from, to, scheduler);
            // The search left the state at the new layout; put it back for the next try.
            for (var k = 0; k < to.Length; k++) state.ReleaseResources(to[k], specs[k], specs[k].Ports.Count);
            for (var k = 0; k < to.Length; k++) state.ReserveResources(from[k], specs[k], specs[k].Ports.Count);
            if (order is null)
            {
                refused = $"a layout with {freed} node(s) fewer exists, but its moves cannot be made one at a time";
                continue;
            }
            if (order.Count > maxMoves)
            {
                refused = $"a layout with {freed} node(s) fewer needs {order.Count} moves; raise the budget from {maxMoves}";
                continue;
            }
            return Plan(nodes, located, order, from, to, before, alive, maxMoves, usedBefore, freed, scheduler);
        }
        var summary = refused ?? $"nothing to free: no layout found on fewer than {usedBefore} node(s) within the time budget";
        return new RebalancePlan([], Math.Round(before, 6), Math.Round(before, 6), maxMoves, summary, []);
    }

    /// <summary>
    /// The moved instances in an order where each move passes every filter when made (replayed on a fresh state),
    /// or null when no such order is found.
    /// </summary>
    private static List<int>? Order(PlacementPipeline pipeline, IReadOnlyList<NodeCandidate> nodes, List<ServiceSpec> specs, int[] from, int[] to,
        PipelineScheduler scheduler)
    {
        var replay = scheduler.CreateState(nodes);
        var pending = Enumerable.Range(0, to.Length).Where(k => to[k] != from[k]).ToList();
        var order = new List<int>(pending.Count);
        while (pending.Count > 0)
        {
            var made = -1;
            foreach (var k in pending)
            {
                replay.ReleaseResources(from[k], specs[k], specs[k].Ports.Count);
                if (pipeline.IsFeasible(pipeline.CreateContext(replay, specs[k]), to[k]))
                {
                    replay.ReserveResources(to[k], specs[k], specs[k].Ports.Count);
                    made = k;
                    break;
                }
                replay.ReserveResources(from[k], specs[k], specs[k].Ports.Count);
            }
            if (made < 0) return null;
            pending.Remove(made);
            order.Add(made);
        }
        return order;
    }

    private static RebalancePlan Plan(IReadOnlyList<NodeCandidate> nodes, List<(PlacedInstance Instance, int Node)> located, List<int> order,
        int[] from, int[] to, double before, List<int> alive, int maxMoves, int usedBefore, int freed, PipelineScheduler scheduler)
    {
        var state = scheduler.CreateState(nodes);
        var inUse = Enumerable.Range(0, state.Count).Where(i => InUse(state, i)).ToList();
        var moves = new List<RebalanceMove>(order.Count);
        var current = before;
        foreach (var k in order)
        {
            var spec = located[k].Instance.Spec;
            state.ReleaseResources(from[k], spec, spec.Ports.Count);
            state.ReserveResources(to[k], spec, spec.Ports.Count);
            var after = Imbalance(state, alive);
            moves.Add(new RebalanceMove(located[k].Instance.InstanceId, spec.Name, state.Node(from[k]).Id, state.Node(from[k]).Name,
                state.Node(to[k]).Id, state.Node(to[k]).Name, Math.Round(current - after, 6)));
            current = after;
        }
        var summary = string.Create(CultureInfo.InvariantCulture,
            $"{moves.Count} move(s) free {freed} node(s): {usedBefore} in use before, {usedBefore - freed} after");
        var emptied = inUse.Where(i => !InUse(state, i)).Select(i => state.Node(i).Name).ToList();
        return new RebalancePlan(moves, Math.Round(before, 6), Math.Round(current, 6), maxMoves, summary, emptied);
    }

    /// <summary>A node is in use while anything is reserved on it (the same test as <see cref="BatchPlacer.NodesUsed"/>).</summary>
    private static bool InUse(ClusterState state, int node)
    {
        var a = state.Allocated(node);
        return a.CpuMillicores > 0 || a.MemoryBytes > 0 || a.DiskBytes > 0 || a.Gpus > 0;
    }
}
