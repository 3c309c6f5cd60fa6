namespace VirtualCluster.Scheduling;

public sealed partial class PlacementPipeline
{
    // Bounds are computed with other arithmetic than the scores; this margin covers the rounding (scores ≤ Σw·100).
    private const double BoundMargin = 1e-6;

    /// <summary>
    /// The full scan's choice, found through the state's index; false when the index cannot serve this request
    /// (a stage that is not built in). Walks the tree depth first, higher bound first, skipping subtrees whose bound
    /// is below the best node bound found; computes each reached node's own bound (its exact feasibility for the
    /// built-in filters and its score by other arithmetic, so equal to the real total up to rounding); then runs
    /// the pipeline's own filters and scorers on the nodes within rounding of the best bound and picks as the scan does.
    /// </summary>
    private bool TrySelectIndexed(PlacementContext context, PlacementIndex index, out int node, out double total, out double weights, out bool found)
    {
        node = -1;
        total = 0;
        weights = 0;
        found = false;
        var q = index.Inputs;
        if (!Prepare(context, q)) return false;
        var view = index.View(context);
        var cluster = context.Cluster;
        index.Stats.Selections++;
        q.WithoutReplica = q.AntiRequired is { Length: > 0 } || q.AntiCounts.Length > 0 ? index.WithoutReplica(context.Spec.Name) : null;
        // The spec's level (levels are only ever added, so its number stays valid for the index's lifetime).
        if (view.Level < 0)
        {
            var all = context.StaticNodes.Length == cluster.Count;
            var key = q.Resources
                ? new PlacementIndex.LevelKey(q.Cpu, q.Memory, q.Disk, q.Gpus, q.Ports, all ? null : view.StaticPass, view.Affinity)
                : PlacementIndex.LevelKey.All with { Static = all ? null : view.StaticPass, Affinity = view.Affinity };
            view.Level = index.LevelFor(key);
            var own = index.LevelKeys[view.Level];
            view.OwnLevel = q.Resources && own.Cpu == key.Cpu && own.Memory == key.Memory && own.Disk == key.Disk && own.Gpus == key.Gpus
                && own.Ports == key.Ports && ReferenceEquals(own.Static, key.Static);
        }
        q.Level = view.Level;
        q.OwnLevel = view.OwnLevel;
        q.At = index.At[q.Level];
        q.LevelAffinity = index.LevelKeys[q.Level].Affinity is not null;
        var bestBound = double.NegativeInfinity;
        var candidates = 0;
        var last = -1;
        var lastReplicas = 0;
        Span<int> stackNodes = stackalloc int[128];
        Span<double> stackBounds = stackalloc double[128];
        // Warm start: the spec's last choice is often still the best (binpack fills it until it is full, and a
        // release brings it back), and its bound, reached first, prunes every subtree that cannot beat it.
        var warm = view.LastChoice;
        var warmSlot = -1;
        if (warm >= 0)
        {
            var p = warmSlot = index.PositionOf(warm);
            var bound = NodeBound(cluster, view, q, in index.SlotNodes[p], view.StaticSlot[p], warm);
            if (bound != double.NegativeInfinity)
            {
                index.Stats.NodesBounded++;
                index.Stats.WarmStarts++;
                bestBound = bound;
                index.AddCandidate(ref candidates, warm, bound);
                last = warm;
                lastReplicas = q.AntiCounts.Length > 0 ? q.AntiCounts[warm] : 0;
            }
            else
            {
                warm = -1;
            }
        }
        var top = 0;
        if (warm >= 0)
        {
            // From the warm node up: its bucket and each sibling of its path to the root together cover the tree, so
            // the path's own tree nodes need no bound (they hold the warm node, so could not be skipped anyway).
            // Siblings that cannot beat the warm node are dropped now; the nearest goes on top, searched first.
            var leaf = index.LeafCount + warmSlot / PlacementIndex.BucketSize;
            for (var t = leaf; t > 1; t >>= 1)
            {
                var sibling = t ^ 1;
                var bound = Bound(index, view, q, sibling);
                index.Stats.Bounds++;
                if (bound == double.NegativeInfinity || bound < bestBound - 2 * BoundMargin) continue;
                // Kept in ascending bound order (nearest first among equal bounds), so the highest is searched first.
                var k = top++;
                for (; k > 0 && stackBounds[k - 1] > bound; k--)
                {
                    stackNodes[k] = stackNodes[k - 1];
                    stackBounds[k] = stackBounds[k - 1];
                }
                stackNodes[k] = sibling;
                stackBounds[k] = bound;
            }
            Push(stackNodes, stackBounds, ref top, leaf, double.PositiveInfinity);
        }
        else
        {
            var rootBound = Bound(index, view, q, 1);
            index.Stats.Bounds++;
            if (rootBound == double.NegativeInfinity) return true;
            Push(stackNodes, stackBounds, ref top, 1, rootBound);
        }
        while (top > 0)
        {
            top--;
            var t = stackNodes[top];
            if (stackBounds[top] < bestBound - 2 * BoundMargin) continue;
            // Nodes with the use of a candidate with a lower index, rules no better and at least as many replicas
            // of the service (so no higher anti-affinity score) cannot win: each scores at most what it scores.
            ref readonly var figures = ref index.Tree[t];
            if (last >= 0 && figures.UniformUse && figures.MinIndex > last && index.SameUse(figures.Rep, last)
                && (lastReplicas == 0 || (lastReplicas == 1 && q.WithoutReplica is { } without && without[t] == 0))
                && NoBetterRules(view, q, t, last))
            {
                index.Stats.DominatedRuns++;
                continue;
            }
            if (t >= index.LeafCount)
            {
                var (start, count) = index.Bucket(t - index.LeafCount);
                index.Stats.Buckets++;
                if (q.At[t].HiCpu < index.At[0][t].HiCpu || q.At[t].HiMem < index.At[0][t].HiMem) index.Stats.TighterByLevel++;
                for (var p = start; p < start + count; p++)
                {
                    var i = index.NodeAt(p);
                    if (i == warm) continue;
                    index.Stats.NodesBounded++;
                    var bound = NodeBound(cluster, view, q, in index.SlotNodes[p], view.StaticSlot[p], i);
                    if (bound == double.NegativeInfinity || bound < bestBound - 2 * BoundMargin) continue;
                    if (bound > bestBound) bestBound = bound;
                    index.AddCandidate(ref candidates, i, bound);
                    var replicas = q.AntiCounts.Length > 0 ? q.AntiCounts[i] : 0;
                    last = i;
                    lastReplicas = replicas;
                    // The bucket's other nodes are identical and come later in index order: none can score more.
                    if (replicas == 0 && figures.Same)
                    {
                        index.Stats.DominatedRuns++;
                        break;
                    }
                }
                continue;
            }
            int l = 2 * t, r = l + 1;
            index.Stats.Expanded++;
            double lb = Bound(index, view, q, l), rb = Bound(index, view, q, r);
            index.Stats.Bounds += 2;
            // Depth first, the child with the higher bound on top so it is explored first.
            if (lb >= rb)
            {
                if (rb != double.NegativeInfinity) Push(stackNodes, stackBounds, ref top, r, rb);
                if (lb != double.NegativeInfinity) Push(stackNodes, stackBounds, ref top, l, lb);
            }
            else
            {
                if (lb != double.NegativeInfinity) Push(stackNodes, stackBounds, ref top, l, lb);
                Push(stackNodes, stackBounds, ref top, r, rb);
            }
        }
        if (candidates == 0) return true;
        // The winner's real total is within rounding of its bound, and no node's bound is below its total by more.
        var kept = index.KeepCandidates(candidates, bestBound - 2 * BoundMargin);
        // Nodes of one score class get bit-identical totals: only the lowest index of each can be chosen.
        if (kept > 1)
        {
            var classes = OnePerScoreClass(cluster, index, view, q, index.CandidateNodes, index.CandidateBounds, kept);
            index.Stats.ClassMembersSkipped += kept - classes;
            kept = classes;
        }
        index.Stats.Scored += kept;
        var buffer = index.CandidateNodes.AsSpan(0, kept);
        var passed = kept;
        foreach (var filter in q.Filters) passed = filter.Filter(context, buffer[..passed]);
        // The node checks mirror the built-in filters; should they ever disagree, the scan decides.
        if (passed != kept) return false;
        var totals = index.CandidateTotals.AsSpan(0, kept);
        weights = Score(context, buffer, totals);
        var best = double.NegativeInfinity;
        var bestNode = int.MaxValue;
        for (var k = 0; k < kept; k++)
        {
            var value = totals[k];
            var i = buffer[k];
            if (value > best || (value == best && i < bestNode))
            {
                best = value;
                bestNode = i;
            }
        }
        node = bestNode;
        view.LastChoice = bestNode;
        total = best;
        found = true;
        return true;
    }

    /// <summary>
    /// True when every node below tree node <paramref name="t"/> has rule scores each at most those of
    /// <paramref name="last"/>: node affinity (the subtree's best), and per
    /// spread key the replicas in its domain (one domain for the whole subtree, or no label, which scores 0). With the
    /// same capacity and use the allocation scores are equal, and a total is a sum of the same terms in the same
    /// order, so such a node's total is at most last's bit for bit (rounding is monotonic); with a higher index it
    /// sorts after last, so it cannot be chosen.
    /// </summary>
    private static bool NoBetterRules(PlacementIndex.SpecView view, BoundInputs q, int t, int last)
    {
        if (view.Affinity is { } affinity && view.AffinityMax![t] > affinity[last]) return false;
        for (var k = 0; k < q.Spreads.Length; k++)
        {
            int u = view.Uniform[k][t], dl = q.NodeDomains[k][last];
            if (u == PlacementIndex.Mixed) return false;
            if (u < 0 || u == dl) continue;
            if (dl < 0 || q.Counts[k][u] < q.Counts[k][dl]) return false;
        }
        return true;
    }

    /// <summary>
    /// Keeps, of the candidates, the lowest index of each score class (same capacity and effective use in every
    /// dimension, or in CPU and memory for a request of those two only, same replica count of the service, same affinity score, same replica count in its domain of each
    /// spread key): the built-in filters and scorers compute a node's verdict and score from exactly these values,
    /// so the members of a class get bit-identical totals and the scan's tie-break (lowest index) picks the class's
    /// first. Returns how many remain, in the first slots of <paramref name="nodes"/>.
    /// </summary>
    private static int OnePerScoreClass(ClusterState s, PlacementIndex index, PlacementIndex.SpecView view, BoundInputs q, int[] nodes, double[] bounds, int count)
    {
        var classes = 0;
        for (var k = 0; k < count; k++)
        {
            var i = nodes[k];
            var bound = bounds[k];
            var c = 0;
            for (; c < classes; c++)
            {
                var r = nodes[c];
                // Members of a class have the same node bound bit for bit (NodeBound reads exactly what the class
                // fixes), so a different bound rules a class out without reading eight arrays per node.
                if (bounds[c] != bound || !SameScoreClass(s, index, view, q, r, i)) continue;
                if (i < r) nodes[c] = i;
                break;
            }
            if (c == classes)
            {
                nodes[classes] = i;
                bounds[classes] = bound;
                classes++;
            }
        }
        return classes;
    }

    private static bool SameScoreClass(ClusterState s, PlacementIndex index, PlacementIndex.SpecView view, BoundInputs q, int a, int b)
    {
        if (q.Fused)
        {
            // CPU and memory only: the allocation kernel reads each node's use and inverse capacity of the two, which
            // the slot copies hold (current after the flush, and just read by the node bounds). The candidates passed
            // the node bound's resource checks; should the filters still disagree, the scan decides.
            ref readonly var x = ref index.SlotNodes[index.PositionOf(a)];
            ref readonly var y = ref index.SlotNodes[index.PositionOf(b)];
            if (x.UseCpu != y.UseCpu || x.UseMem != y.UseMem || x.InvCpu != y.InvCpu || x.InvMem != y.InvMem) return false;
        }
        else if (s.UseCpu[a] != s.UseCpu[b] || s.UseMem[a] != s.UseMem[b] || s.UseDisk[a] != s.UseDisk[b] || s.AllocGpu[a] != s.AllocGpu[b]
            || s.CapCpu[a] != s.CapCpu[b] || s.CapMem[a] != s.CapMem[b] || s.CapDisk[a] != s.CapDisk[b] || s.CapGpu[a] != s.CapGpu[b])
            return false;
        if (q.AntiCounts.Length > 0 && q.AntiCounts[a] != q.AntiCounts[b]) return false;
        if (q.AntiRequired is { Length: > 0 } required && required[a] != required[b]) return false;
        if (view.Affinity is { } affinity && affinity[a] != affinity[b]) return false;
        for (var k = 0; k < q.Spreads.Length; k++)
        {
            int da = q.NodeDomains[k][a], db = q.NodeDomains[k][b];
            if (da == db) continue;
            if (da < 0 || db < 0 || q.Counts[k][da] != q.Counts[k][db]) return false;
        }
        return true;
    }

    /// <summary>
    /// One node's bound: −∞ when it fails a built-in filter (same comparisons), else Σ wᵢ·scoreᵢ computed here
    /// (anti-affinity, affinity, spread exactly; the allocation scores by the same formulas).
    /// </summary>
    private static double NodeBound(ClusterState s, PlacementIndex.SpecView view, BoundInputs q, in PlacementIndex.SlotFigures n, bool staticPass, int i)
    {
        if (i < 0 || !staticPass) return double.NegativeInfinity;
        // use + request > capacity, as the resource filter asks, written as free < request (no overflow at real sizes).
        if (q.Resources && (n.FreeCpu < q.Cpu || n.FreeMem < q.Memory || n.FreeDisk < q.Disk || n.FreeGpus < q.Gpus))
            return double.NegativeInfinity;
        if (q.Ports > 0 && n.FreePorts < q.Ports) return double.NegativeInfinity;
        if (q.AntiRequired is { Length: > 0 } required && required[i] != 0) return double.NegativeInfinity;
        var bound = 0.0;
        if (q.AntiWeight > 0) bound += q.AntiCounts.Length == 0 ? 100 * q.AntiWeight : 100 * q.AntiWeight * (1 - q.AntiCounts[i] * q.AntiScale);
        if (q.Affinity > 0) bound += q.Affinity * view.Affinity![i];
        for (var k = 0; k < q.Spreads.Length; k++)
        {
            var d = q.NodeDomains[k][i];
            if (d < 0)
            {
                if (q.SpreadFilter) return double.NegativeInfinity;
                continue;
            }
            if (!q.DomainOk[k][d]) return double.NegativeInfinity;
            if (q.SpreadWeight > 0) bound += q.DomainScore[k][d];
        }
        var a = (n.UseCpu + q.Cpu) * n.InvCpu;
        var b = (n.UseMem + q.Memory) * n.InvMem;
        if (q.Fused) return bound + q.Constant + q.SumWeight * (a + b) - q.DiffWeight * Math.Abs(a - b);
        double c = 0, e = 0;
        if (q.Disk > 0) c = (s.UseDisk[i] + q.Disk) * s.InvDisk[i];
        if (q.Gpus > 0) e = (s.AllocGpu[i] + q.Gpus) * s.InvGpu[i];
        var mean = (a + b + c + e) / q.Dimensions;
        var variance = (a - mean) * (a - mean) + (b - mean) * (b - mean)
            + (q.Disk > 0 ? (c - mean) * (c - mean) : 0) + (q.Gpus > 0 ? (e - mean) * (e - mean) : 0);
        return bound + q.Most * 100 * mean + q.Least * 100 * (1 - mean) + q.Balanced * 100 * (1 - Math.Sqrt(variance / q.Dimensions));
    }

    private static void Push(Span<int> nodes, Span<double> bounds, ref int top, int t, double bound)
    {
        nodes[top] = t;
        bounds[top] = bound;
        top++;
    }
}
