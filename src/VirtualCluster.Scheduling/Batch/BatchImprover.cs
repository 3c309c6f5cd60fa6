namespace VirtualCluster.Scheduling;

/// <summary>
/// The improvement phase after a greedy batch: tries to empty the least-loaded nodes the batch uses by moving their
/// instances onto the other used nodes (best fit), swapping a pending instance into a node in exchange for a
/// smaller one when nothing fits. A move or swap must pass every filter of the pipeline on its target, a node
/// opens nowhere new, and an attempt that does not empty its node is undone, so the result never uses more nodes
/// and never breaks a rule. Stops when a round empties nothing or at the deadline.
/// </summary>
/// <remarks>
/// Works on resource reservations (<see cref="ClusterState.ReserveResources"/>); the caller hands out ports after.
/// Instances whose spec has topology spread stay put (their filter depends on the order of placement), as do all
/// instances when the pipeline holds custom dynamic filters. Each swap makes the pending work strictly smaller
/// (Σ demand / mean capacity), so an attempt ends.
/// </remarks>
internal sealed class BatchImprover(PlacementPipeline pipeline, ClusterState state, TimeProvider time, TimeSpan budget)
{
    private readonly Dictionary<ServiceSpec, PlacementContext> _contexts = new(ReferenceEqualityComparer.Instance);
    private readonly long _deadline = time.GetTimestamp() + (long)(budget.TotalSeconds * time.TimestampFrequency);

    /// <summary>Improves <paramref name="nodes"/> (the node of each instance of <paramref name="specs"/>) in place; returns nodes freed.</summary>
    public int Improve(IReadOnlyList<ServiceSpec> specs, int[] nodes)
    {
        if (!pipeline.DynamicFiltersAreBuiltIn || specs.Count == 0) return 0;
        var scale = BatchPlacer.Scale(state);
        var size = specs.Select(s => BatchPlacer.Size(s.Resources, scale)).ToArray();
        var movable = specs.Select(s => s.Placement.TopologySpread.Count == 0).ToArray();
        var onNode = new Dictionary<int, List<int>>();
        for (var k = 0; k < nodes.Length; k++) (onNode.TryGetValue(nodes[k], out var list) ? list : onNode[nodes[k]] = []).Add(k);
        var freed = 0;
        var progress = true;
        while (progress && !Expired())
        {
            progress = false;
            var used = Enumerable.Range(0, state.Count).Where(IsUsed).ToList();
            // Nodes holding only movable batch instances, least loaded first.
            var targets = onNode.Where(e => e.Value.Count > 0 && e.Value.All(k => movable[k]) && OnlyBatch(e.Key, e.Value, specs))
                .Select(e => e.Key).OrderBy(Load).ThenBy(i => i).ToList();
            foreach (var victim in targets)
            {
                if (Expired()) break;
                if (!TryEmpty(victim, used, specs, nodes, size, movable, onNode)) continue;
                freed++;
                progress = true;
                used.Remove(victim);
            }
        }
        return freed;
    }

    private bool Expired() => time.GetTimestamp() >= _deadline;

    private bool IsUsed(int i)
    {
        var a = state.Allocated(i);
        return a.CpuMillicores > 0 || a.MemoryBytes > 0 || a.DiskBytes > 0 || a.Gpus > 0;
    }

    /// <summary>True when the node's reservations are exactly these batch instances (no earlier work to move).</summary>
    private bool OnlyBatch(int node, List<int> instances, IReadOnlyList<ServiceSpec> specs)
    {
        var sum = Resources.Zero;
        foreach (var k in instances) sum += specs[k].Resources;
        return state.Allocated(node) == sum;
    }

    private double Load(int i)
    {
        var cap = state.Capacity(i);
        var used = state.Used(i);
        static double Share(long u, long c) => c <= 0 ? 0 : (double)u / c;
        return Share(used.CpuMillicores, cap.CpuMillicores) + Share(used.MemoryBytes, cap.MemoryBytes);
    }

    private PlacementContext Context(ServiceSpec spec)
    {
        if (!_contexts.TryGetValue(spec, out var context)) _contexts[spec] = context = pipeline.CreateContext(state, spec);
        return context;
    }

    private bool TryEmpty(int victim, List<int> used, IReadOnlyList<ServiceSpec> specs, int[] nodes, double[] size, bool[] movable,
        Dictionary<int, List<int>> onNode)
    {
        var journal = new List<(int Instance, int From, int To)>();
        var pending = new List<int>(onNode[victim]);
        foreach (var k in pending) Move(k, victim, -1, specs, nodes, onNode, journal);
        var steps = 0;
        while (pending.Count > 0)
        {
            if (Expired() || ++steps > 50 * specs.Count) break;
            pending.Sort((x, y) => size[y].CompareTo(size[x]));
            var k = pending[0];
            var spec = specs[k];
            var context = Context(spec);
            var best = -1;
            var bestLoad = double.NegativeInfinity;
            foreach (var target in used)
            {
                if (target == victim || !pipeline.IsFeasible(context, target)) continue;
                var load = Load(target);
                if (load > bestLoad) (best, bestLoad) = (target, load);
            }
            if (best >= 0)
            {
                Move(k, -1, best, specs, nodes, onNode, journal);
                pending.RemoveAt(0);
                continue;
            }
            if (!TrySwap(k, victim, used, specs, nodes, size, movable, onNode, journal, pending)) break;
        }
        if (pending.Count == 0) return true;
        // Undo in reverse order: every instance goes back where it was.
        for (var j = journal.Count - 1; j >= 0; j--)
        {
            var (instance, from, to) = journal[j];
            if (to >= 0) state.ReleaseResources(to, specs[instance], specs[instance].Ports.Count);
            if (from >= 0) state.ReserveResources(from, specs[instance], specs[instance].Ports.Count);
            if (to >= 0) onNode[to].Remove(instance);
            if (from >= 0) onNode[from].Add(instance);
            nodes[instance] = from;
        }
        return false;
    }

    /// <summary>Puts pending instance k on a node in place of a smaller movable instance there, which becomes pending.</summary>
    private bool TrySwap(int k, int victim, List<int> used, IReadOnlyList<ServiceSpec> specs, int[] nodes, double[] size, bool[] movable,
        Dictionary<int, List<int>> onNode, List<(int, int, int)> journal, List<int> pending)
    {
        var context = Context(specs[k]);
        (int Node, int Out)? best = null;
        var bestSize = double.PositiveInfinity;
        foreach (var target in used)
        {
            if (target == victim || !onNode.TryGetValue(target, out var here)) continue;
            foreach (var other in here.ToArray())
            {
                if (!movable[other] || size[other] >= size[k] || size[other] >= bestSize) continue;
                state.ReleaseResources(target, specs[other], specs[other].Ports.Count);
                if (pipeline.IsFeasible(context, target)) (best, bestSize) = ((target, other), size[other]);
                state.ReserveResources(target, specs[other], specs[other].Ports.Count);
            }
        }
        if (best is not { } swap) return false;
        Move(swap.Out, swap.Node, -1, specs, nodes, onNode, journal);
        Move(k, -1, swap.Node, specs, nodes, onNode, journal);
        pending.Remove(k);
        pending.Add(swap.Out);
        return true;
    }

    /// <summary>Moves instance k from one node to another (-1: pending, reserved nowhere), journaled for undo.</summary>
    private void Move(int k, int from, int to, IReadOnlyList<ServiceSpec> specs, int[] nodes, Dictionary<int, List<int>> onNode,
        List<(int, int, int)> journal)
    {
        var spec = specs[k];
        if (from >= 0)
        {
            state.ReleaseResources(from, spec, spec.Ports.Count);
            onNode[from].Remove(k);
        }
        if (to >= 0)
        {
            state.ReserveResources(to, spec, spec.Ports.Count);
            (onNode.TryGetValue(to, out var list) ? list : onNode[to] = []).Add(k);
        }
        nodes[k] = to;
        journal.Add((k, from, to));
    }
}
