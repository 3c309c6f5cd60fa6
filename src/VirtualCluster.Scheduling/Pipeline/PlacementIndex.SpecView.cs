namespace VirtualCluster.Scheduling;

internal sealed partial class PlacementIndex
{
    /// <summary>Marks a tree node whose nodes lie in more than one domain of a spread key.</summary>
    internal const int Mixed = int.MinValue;

    private static readonly object ViewKey = new();

    /// <summary>
    /// What the index needs of one spec, per tree node, for the current layout: whether any node below passes the
    /// static filters, the best node-affinity score among those, and per spread key the domain they all share
    /// (-1: none has the label, <see cref="Mixed"/>: several). Built once per spec and layout (O(n)).
    /// </summary>
    internal sealed class SpecView
    {
        public int Layout;
        public bool[] StaticPass = [];
        // StaticPass per slot (leaf order), read with the slot's figures.
        public bool[] StaticSlot = [];
        public bool[] AnyStatic = [];
        public double[]? AffinityMax;
        public double[]? Affinity;
        public int[][] Uniform = [];
        // The node the last indexed selection of this spec chose (-1: none yet); the next search starts from it.
        public int LastChoice = -1;
        // The request level the search reads (PlacementIndex.LevelFor), -1 until the first search.
        public int Level = -1;
        // True when that level is the spec's own (not a shared one below it) and covers ports (see BoundInputs.OwnLevel).
        public bool OwnLevel;
    }

    public SpecView View(PlacementContext context)
    {
        var view = context.GetOrCreateStatic(ViewKey, static _ => new SpecView { Layout = -1 });
        if (view.Layout == Layout) return view;
        var n = _s.Count;
        var size = 2 * _leaves;
        var placement = context.Spec.Placement;
        // Without affinity or spread, a view is its static nodes laid out: specs of one static shape (the same
        // static result) share those arrays, as a failover places hundreds of such specs, each O(n) to lay out.
        // (Checked before this view's layout is set: the shared one may be this very view, laid out for an older layout.)
        var plain = placement.Affinity.Count == 0 && placement.TopologySpread.Count == 0;
        if (plain && _sharedViews.TryGetValue(context.Entry.Nodes, out var shared) && shared.Layout == Layout)
        {
            (view.StaticPass, view.StaticSlot, view.AnyStatic, view.AffinityMax, view.Affinity, view.Uniform) =
                (shared.StaticPass, shared.StaticSlot, shared.AnyStatic, null, null, []);
            view.Layout = Layout;
            return view;
        }
        view.Layout = Layout;
        // The static verdicts and affinity scores per node depend only on registrations: kept across layouts.
        if (view.StaticPass.Length != n)
        {
            view.StaticPass = new bool[n];
            foreach (var i in context.StaticNodes) view.StaticPass[i] = true;
            if (placement.Affinity.Count > 0)
            {
                view.Affinity = new double[n];
                foreach (var i in context.StaticNodes) view.Affinity[i] = NodeAffinityScorer.ScoreOf(_s.Node(i).Labels, placement.Affinity);
            }
        }
        view.StaticSlot = new bool[_order.Length];
        for (var p = 0; p < _order.Length; p++) view.StaticSlot[p] = _order[p] >= 0 && view.StaticPass[_order[p]];
        view.AnyStatic = new bool[size];
        var affinity = placement.Affinity.Count > 0 ? new double[size] : null;
        var perNode = view.Affinity;
        var spreads = placement.TopologySpread;
        var uniform = new int[spreads.Count][];
        var domains = new int[spreads.Count][];
        for (var k = 0; k < spreads.Count; k++)
        {
            uniform[k] = new int[size];
            domains[k] = _s.Domains(spreads[k].Key).NodeDomain;
        }
        for (var t = _leaves; t < size; t++)
        {
            var (start, count) = Bucket(t - _leaves);
            var any = false;
            var best = double.NegativeInfinity;
            for (var k = 0; k < spreads.Count; k++) uniform[k][t] = Mixed;
            for (var p = start; p < start + count; p++)
            {
                var i = _order[p];
                if (i < 0 || !view.StaticPass[i]) continue;
                if (perNode is not null) best = Math.Max(best, perNode[i]);
                for (var k = 0; k < spreads.Count; k++)
                    uniform[k][t] = !any ? domains[k][i] : uniform[k][t] == domains[k][i] ? uniform[k][t] : Mixed;
                any = true;
            }
            view.AnyStatic[t] = any;
            if (affinity is not null) affinity[t] = best;
        }
        for (var t = _leaves - 1; t >= 1; t--)
        {
            int l = 2 * t, r = l + 1;
            bool left = view.AnyStatic[l], right = view.AnyStatic[r];
            view.AnyStatic[t] = left || right;
            if (affinity is not null) affinity[t] = Math.Max(affinity[l], affinity[r]);
            for (var k = 0; k < spreads.Count; k++)
                uniform[k][t] = !left ? uniform[k][r] : !right ? uniform[k][l] : uniform[k][l] == uniform[k][r] ? uniform[k][l] : Mixed;
        }
        view.AffinityMax = affinity;
        view.Uniform = uniform;
        if (plain)
        {
            if (_sharedViews.Count >= MaxSharedViews) _sharedViews.Clear(); // old static results (liveness changed) go
            _sharedViews[context.Entry.Nodes] = view;
        }
        return view;
    }

    private const int MaxSharedViews = 64;

    // Laid-out static arrays per static result (by reference), for specs without affinity or spread; read only.
    private readonly Dictionary<int[], SpecView> _sharedViews = new(ReferenceEqualityComparer.Instance);
}
