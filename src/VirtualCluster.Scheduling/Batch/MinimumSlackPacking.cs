namespace VirtualCluster.Scheduling;

/// <summary>
/// Minimum bin slack construction (MBS', after Gupta and Ho, 1999), for vectors: fills one bin at a time with the
/// largest remaining item that fits and the subset of the other remaining items that leaves the bin fullest (largest Σ_d demand_d / scale_d that fits in every dimension),
/// found by a depth-first search over the items, largest first, cut off after a number of search nodes. Choosing
/// whole bin contents at once is what pairs a CPU-heavy item with memory-heavy ones: a greedy pass that places one
/// item at a time commits before it sees the partner.
/// </summary>
/// <remarks>Every candidate looked at counts against the node limit, so a bin costs at most that many checks.</remarks>
internal sealed class MinimumSlackPacking(long[] demand, double[] inverseScale, int[] group, bool[][] allowed, int nodeLimit, Func<bool> expired)
{
    private const int Dims = PackingSearch.Dims;
    private readonly long[] _room = new long[Dims];
    private List<int> _candidates = [];
    private double[] _volume = [];
    private double[] _suffix = [];
    private readonly List<int> _chosen = [];
    private List<int> _best = [];
    private double _bestVolume;
    private double _capacityVolume;
    private int _nodes;

    /// <summary>Volume of item k on the cluster's scale.</summary>
    public double Volume(int k)
    {
        double v = 0;
        for (var d = 0; d < Dims; d++) v += demand[k * Dims + d] * inverseScale[d];
        return v;
    }

    /// <summary>
    /// Packs the items in <paramref name="order"/> (largest first, or perturbed) into the bins in
    /// <paramref name="binOrder"/>; returns the bin of each item, or null when some item finds no room.
    /// </summary>
    public int[]? Pack(long[] free, int[] order, int[] binOrder, int items)
    {
        var bin = new int[items];
        Array.Fill(bin, -1);
        var remaining = new List<int>(order);
        foreach (var b in binOrder)
        {
            if (remaining.Count == 0) break;
            if (expired()) return null;
            _candidates = remaining.Where(k => allowed[group[k]][b]).ToList();
            if (_candidates.Count == 0) continue;
            for (var d = 0; d < Dims; d++) _room[d] = free[b * Dims + d];
            _capacityVolume = 0;
            for (var d = 0; d < Dims; d++) _capacityVolume += _room[d] * inverseScale[d];
            _volume = _candidates.Select(Volume).ToArray();
            _suffix = new double[_candidates.Count + 1];
            for (var n = _candidates.Count - 1; n >= 0; n--) _suffix[n] = _suffix[n + 1] + _volume[n];
            (_best, _bestVolume, _nodes) = ([], -1, 0);
            _chosen.Clear();
            // MBS': the largest remaining item that fits goes in first, the search picks its companions.
            var first = _candidates.FindIndex(Fits);
            if (first < 0) continue;
            Take(first, +1);
            _chosen.Add(_candidates[first]);
            Search(first + 1, _volume[first]);
            foreach (var k in _best)
            {
                bin[k] = b;
                remaining.Remove(k);
            }
        }
        return remaining.Count == 0 ? bin : null;
    }

    private void Search(int from, double volume)
    {
        if (volume > _bestVolume) (_best, _bestVolume) = ([.. _chosen], volume);
        for (var n = from; n < _candidates.Count; n++)
        {
            // Nothing below can beat the best: the bin is as full as it gets, or the rest adds too little.
            if (_nodes >= nodeLimit || _bestVolume >= _capacityVolume - 1e-12 || volume + _suffix[n] <= _bestVolume) return;
            var k = _candidates[n];
            _nodes++;
            if (!Fits(k)) continue;
            Take(n, +1);
            _chosen.Add(k);
            Search(n + 1, volume + _volume[n]);
            _chosen.RemoveAt(_chosen.Count - 1);
            Take(n, -1);
        }
    }

    private void Take(int n, int sign)
    {
        var k = _candidates[n];
        for (var d = 0; d < Dims; d++) _room[d] -= sign * demand[k * Dims + d];
    }

    private bool Fits(int k)
    {
        for (var d = 0; d < Dims; d++)
            if (demand[k * Dims + d] > _room[d]) return false;
        return true;
    }
}
