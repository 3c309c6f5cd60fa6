namespace VirtualCluster.Scheduling;

/// <summary>The search's candidate list, the static group ids and small helpers of <see cref="PlacementIndex"/>.</summary>
internal sealed partial class PlacementIndex
{
    internal int[] CandidateNodes = new int[64];
    internal double[] CandidateBounds = new double[64];
    internal double[] CandidateTotals = new double[64];

    public void AddCandidate(ref int count, int node, double bound)
    {
        if (count == CandidateNodes.Length)
        {
            Array.Resize(ref CandidateNodes, count * 2);
            Array.Resize(ref CandidateBounds, count * 2);
            Array.Resize(ref CandidateTotals, count * 2);
        }
        CandidateNodes[count] = node;
        CandidateBounds[count] = bound;
        count++;
    }

    /// <summary>Keeps the candidates whose bound is at least <paramref name="floor"/>, in order; returns how many.</summary>
    public int KeepCandidates(int count, double floor)
    {
        var kept = 0;
        for (var k = 0; k < count; k++)
        {
            if (CandidateBounds[k] < floor) continue;
            CandidateNodes[kept] = CandidateNodes[k];
            CandidateBounds[kept] = CandidateBounds[k];
            kept++;
        }
        return kept;
    }

    /// <summary>Nodes with the same state, drivers and labels share a group id (so static verdicts are equal).</summary>
    private static int[] GroupIds(ClusterState state)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var groups = new int[state.Count];
        var text = new System.Text.StringBuilder();
        for (var i = 0; i < state.Count; i++)
        {
            var node = state.Node(i);
            text.Clear().Append((int)node.State).Append('|');
            foreach (var driver in node.Drivers.Order(StringComparer.Ordinal)) text.Append(driver).Append(',');
            text.Append('|');
            foreach (var (key, value) in node.Labels.OrderBy(l => l.Key, StringComparer.Ordinal)) text.Append(key).Append('=').Append(value).Append(';');
            var signature = text.ToString();
            if (!ids.TryGetValue(signature, out var id)) ids[signature] = id = ids.Count;
            groups[i] = id;
        }
        return groups;
    }

    private static bool Set(ref long slot, long value)
    {
        var changed = slot != value;
        slot = value;
        return changed;
    }

    private static bool Set(ref int slot, int value)
    {
        var changed = slot != value;
        slot = value;
        return changed;
    }

    private static bool Set(ref double slot, double value)
    {
        var changed = slot != value;
        slot = value;
        return changed;
    }

    private static bool Set(ref bool slot, bool value)
    {
        var changed = slot != value;
        slot = value;
        return changed;
    }
}
