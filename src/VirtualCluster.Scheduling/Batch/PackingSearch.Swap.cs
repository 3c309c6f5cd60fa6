namespace VirtualCluster.Scheduling;

internal sealed partial class PackingSearch
{
    /// <summary>
    /// The swap of up to two items of an open bin for one or two pending items that fit there, not tabu, that
    /// leaves the pending set lightest (ties at random); applied even when it makes the set heavier, as tabu search does.
    /// </summary>
    private bool Swap(List<int> pending)
    {
        _moves.Clear();
        var pairs = pending.Count <= 40;
        for (var x = 0; x < pending.Count; x++)
        {
            _moves.Add((pending[x], -1, _weight[pending[x]]));
            if (!pairs) continue;
            for (var y = x + 1; y < pending.Count; y++) _moves.Add((pending[x], pending[y], _weight[pending[x]] + _weight[pending[y]]));
        }
        (int Bin, int Out1, int Out2, int In1, int In2)? best = null;
        var bestDelta = double.PositiveInfinity;
        var ties = 0;
        for (var b = 0; b < _open.Length; b++)
        {
            if (!_open[b]) continue;
            if ((b & 63) == 63 && _expired()) return false;
            var here = _items[b];
            for (var i = 0; i < here.Count; i++)
            for (var j = i; j < here.Count; j++)
            {
                // j == i: one item out; otherwise two.
                var out1 = here[i];
                var out2 = j == i ? -1 : here[j];
                var outWeight = _weight[out1] + (out2 >= 0 ? _weight[out2] : 0);
                for (var d = 0; d < Dims; d++)
                    _avail[d] = _free[b * Dims + d] + _demand[out1 * Dims + d] + (out2 >= 0 ? _demand[out2 * Dims + d] : 0);
                foreach (var (in1, in2, inWeight) in _moves)
                {
                    var delta = outWeight - inWeight;
                    if (delta > bestDelta) continue;
                    if (!_allowed[_group[in1]][b] || Tabu(in1, b) || (in2 >= 0 && (!_allowed[_group[in2]][b] || Tabu(in2, b)))) continue;
                    if (!FitsAvail(in1, in2)) continue;
                    if (delta < bestDelta) (bestDelta, ties) = (delta, 0);
                    if (_random.Next(++ties) == 0) best = (b, out1, out2, in1, in2);
                }
            }
        }
        if (best is not { } move) return false;
        Take(move.Out1);
        if (move.Out2 >= 0) Take(move.Out2);
        foreach (var k in new[] { move.Out1, move.Out2 })
        {
            if (k < 0) continue;
            (_tabuBin[k], _tabuUntil[k]) = (move.Bin, _step + 3 + _random.Next(8));
            pending.Add(k);
        }
        Put(move.In1, move.Bin);
        pending.Remove(move.In1);
        if (move.In2 >= 0)
        {
            Put(move.In2, move.Bin);
            pending.Remove(move.In2);
        }
        return true;
    }

    private bool FitsAvail(int in1, int in2)
    {
        for (var d = 0; d < Dims; d++)
            if (_demand[in1 * Dims + d] + (in2 >= 0 ? _demand[in2 * Dims + d] : 0) > _avail[d]) return false;
        return true;
    }
}
