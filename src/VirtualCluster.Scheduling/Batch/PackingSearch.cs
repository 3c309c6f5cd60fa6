namespace VirtualCluster.Scheduling;

/// <summary>
/// Vector bin packing local search on plain arrays, after the "consistent neighbourhood search" of Buljubašić and
/// Vasquez (2016): close the least-loaded removable bin, make its items pending, and repair by inserting pending
/// items where they fit (tightest bin first) or, when none fits, by the swap that lightens the pending set most
/// (up to two items out of a bin for up to two pending ones, so a CPU-heavy item can trade places with a
/// memory-heavy pair). Recently moved items may not go back into the bin they left (tabu), which keeps the search
/// from cycling. Pending empty means a bin was saved; the layout is kept and the next bin is tried.
/// </summary>
/// <remarks>
/// Only complete layouts are ever kept (<see cref="Best"/>), each using fewer bins than the one before, and every
/// bin of a kept layout has all its dimensions within its free capacity; the caller still checks the result
/// against the full pipeline. Randomness (tie-breaks, tabu tenure, which bin to close after a failure) comes from
/// one seeded <see cref="Random"/>, so a run is repeatable given its seed and the number of steps it gets.
/// </remarks>
internal sealed partial class PackingSearch
{
    /// <summary>CPU, memory, disk, GPUs, host ports.</summary>
    public const int Dims = 5;

    /// <summary>Most swap steps one attempt to empty a bin may take before it gives up and the next bin is tried.</summary>
    private const int StepsPerAttempt = 1500;

    private readonly long[] _demand;
    private readonly long[] _free;
    private readonly long[] _baseFree;
    private readonly double[] _weight;
    private readonly double[] _inverseScale;
    private readonly bool[][] _allowed;
    private readonly int[] _group;
    private readonly bool[] _pinned;
    private readonly int[] _bin;
    private readonly List<int>[] _items;
    private readonly bool[] _open;
    private readonly int[] _tabuBin;
    private readonly int[] _tabuUntil;
    private readonly Random _random;
    private readonly Func<bool> _expired;
    private readonly long[] _avail = new long[Dims];
    private readonly List<(int A, int B, double Weight)> _moves = [];
    private int _step;

    /// <param name="demand">Item k's demand in dimension d at [k × Dims + d].</param>
    /// <param name="free">Bin b's capacity for these items (what other work leaves) at [b × Dims + d].</param>
    /// <param name="weight">How much an item counts while pending (its size on the cluster's scale).</param>
    /// <param name="inverseScale">1 / a typical capacity per dimension (0 to ignore one), to compare slack across dimensions.</param>
    /// <param name="group">Item k's group; <paramref name="allowed"/>[group][b] says whether bin b may take it.</param>
    /// <param name="allowed">Bins each group may use.</param>
    /// <param name="pinned">Bins that stay in use whatever happens (they hold other work): never closed.</param>
    /// <param name="bin">Bin of each item: a complete, fitting layout.</param>
    /// <param name="seed">Seed of the tie-breaks.</param>
    /// <param name="expired">True when the time is up.</param>
    public PackingSearch(long[] demand, long[] free, double[] weight, double[] inverseScale, int[] group, bool[][] allowed, bool[] pinned, int[] bin, int seed,
        Func<bool> expired)
    {
        (_demand, _weight, _inverseScale, _group, _allowed, _pinned, _expired) = (demand, weight, inverseScale, group, allowed, pinned, expired);
        _baseFree = free;
        _free = (long[])free.Clone();
        _bin = (int[])bin.Clone();
        Best = (int[])bin.Clone();
        var bins = pinned.Length;
        _items = new List<int>[bins];
        _open = new bool[bins];
        for (var b = 0; b < bins; b++) (_items[b], _open[b]) = ([], pinned[b]);
        for (var k = 0; k < bin.Length; k++) Put(k, bin[k]);
        _tabuBin = new int[bin.Length];
        _tabuUntil = new int[bin.Length];
        _random = new Random(seed);
    }

    /// <summary>The best complete layout found (bin per item).</summary>
    public int[] Best { get; private set; }

    /// <summary>Bins closed so far.</summary>
    public int Freed { get; private set; }

    /// <summary>Swap steps taken, all attempts together.</summary>
    public int Steps => _step;

    /// <summary>Searches until time is up, <paramref name="maxSteps"/> swap steps are spent, or no bin is left to close.</summary>
    public void Run(int maxSteps, int constructions = 16)
    {
        Construct(constructions);
        var failures = 0;
        while (!_expired() && _step < maxSteps)
        {
            var room = OpenRoom();
            var victims = Enumerable.Range(0, _open.Length).Where(b => _open[b] && !_pinned[b] && _items[b].Count > 0 && RoomElsewhere(b, room))
                .OrderBy(Load).ThenBy(b => b).ToList();
            // One open bin left (or none removable): nothing to save.
            if (victims.Count == 0 || _open.Count(o => o) < 2) return;
            // Least loaded first; after failures, one of the few least loaded at random.
            var victim = victims[failures == 0 ? 0 : _random.Next(Math.Min(victims.Count, 2 + failures))];
            if (failures > 4 * victims.Count) return;
            _open[victim] = false;
            var pending = new List<int>(_items[victim]);
            foreach (var k in pending) Take(k);
            if (Repair(pending, Math.Min(maxSteps, _step + StepsPerAttempt)))
            {
                Best = (int[])_bin.Clone();
                Freed++;
                failures = 0;
            }
            else
            {
                Restore();
                failures++;
            }
        }
    }

    /// <summary>
    /// Builds whole layouts with <see cref="MinimumSlackPacking"/> (largest first, then with the sizes perturbed by up to
    /// 30 %) and starts from the first that uses fewer bins than the layout given.
    /// </summary>
    private void Construct(int passes)
    {
        var packer = new MinimumSlackPacking(_demand, _inverseScale, _group, _allowed, nodeLimit: 5_000, _expired);
        var volume = Enumerable.Range(0, _bin.Length).Select(packer.Volume).ToArray();
        var binOrder = Enumerable.Range(0, _open.Length).OrderBy(b => _pinned[b] ? 0 : 1).ThenBy(b => b).ToArray();
        var used = UsedBins(Best);
        for (var pass = 0; pass < passes && !_expired(); pass++)
        {
            var noise = Enumerable.Range(0, _bin.Length).Select(k => volume[k] * (pass == 0 ? 1 : 1 + 0.3 * _random.NextDouble())).ToArray();
            var order = Enumerable.Range(0, _bin.Length).OrderByDescending(k => noise[k]).ThenBy(k => k).ToArray();
            if (packer.Pack(_baseFree, order, binOrder, _bin.Length) is not { } layout) continue;
            var count = UsedBins(layout);
            if (count >= used) continue;
            (Best, Freed, used) = (layout, Freed + used - count, count);
            Restore();
        }
    }

    private int UsedBins(int[] layout)
    {
        var used = (bool[])_pinned.Clone();
        foreach (var b in layout) used[b] = true;
        return used.Count(u => u);
    }

    /// <summary>
    /// True when the other open bins have, in total, room for bin b's items in every dimension; otherwise closing b
    /// cannot succeed (with identical bins: the count is at the volume bound) and is not tried.
    /// </summary>
    private bool RoomElsewhere(int b, long[] room)
    {
        for (var d = 0; d < Dims; d++)
        {
            long need = 0;
            foreach (var k in _items[b]) need += _demand[k * Dims + d];
            if (need > room[d] - _free[b * Dims + d]) return false;
        }
        return true;
    }

    /// <summary>Free capacity of all open bins together, per dimension.</summary>
    private long[] OpenRoom()
    {
        var room = new long[Dims];
        for (var b = 0; b < _open.Length; b++)
            if (_open[b])
                for (var d = 0; d < Dims; d++) room[d] += _free[b * Dims + d];
        return room;
    }

    private double Load(int b)
    {
        double sum = 0;
        foreach (var k in _items[b]) sum += _weight[k];
        return sum;
    }

    private bool Repair(List<int> pending, int stepLimit)
    {
        while (true)
        {
            InsertWhereFits(pending);
            if (pending.Count == 0) return true;
            if (_step >= stepLimit || _expired()) return false;
            _step++;
            if (!Swap(pending)) return false;
        }
    }

    /// <summary>Puts pending items, heaviest first, into the open bin they leave tightest (least squared slack).</summary>
    private void InsertWhereFits(List<int> pending)
    {
        pending.Sort((x, y) => _weight[y].CompareTo(_weight[x]));
        for (var n = 0; n < pending.Count; n++)
        {
            var k = pending[n];
            var best = -1;
            var bestSlack = double.PositiveInfinity;
            for (var b = 0; b < _open.Length; b++)
            {
                if (!_open[b] || !_allowed[_group[k]][b] || Tabu(k, b) || !FitsIn(b, k)) continue;
                var slack = Slack(b, k);
                if (slack < bestSlack || (slack == bestSlack && _random.Next(2) == 0)) (best, bestSlack) = (b, slack);
            }
            if (best < 0) continue;
            Put(k, best);
            pending.RemoveAt(n--);
        }
    }

    private double Slack(int b, int k)
    {
        double sum = 0;
        for (var d = 0; d < Dims; d++)
        {
            var left = (_free[b * Dims + d] - _demand[k * Dims + d]) * _inverseScale[d];
            sum += left * left;
        }
        return sum;
    }

    private bool Tabu(int k, int b) => _tabuBin[k] == b && _tabuUntil[k] > _step;

    private bool FitsIn(int b, int k)
    {
        for (var d = 0; d < Dims; d++)
            if (_demand[k * Dims + d] > _free[b * Dims + d]) return false;
        return true;
    }

    private void Put(int k, int b)
    {
        for (var d = 0; d < Dims; d++) _free[b * Dims + d] -= _demand[k * Dims + d];
        _items[b].Add(k);
        _bin[k] = b;
        _open[b] = true;
    }

    /// <summary>Makes item k pending (its bin stays open).</summary>
    private void Take(int k)
    {
        var b = _bin[k];
        for (var d = 0; d < Dims; d++) _free[b * Dims + d] += _demand[k * Dims + d];
        _items[b].Remove(k);
        _bin[k] = -1;
    }

    /// <summary>Goes back to <see cref="Best"/>: every item in its bin, exactly the bins in use there open.</summary>
    private void Restore()
    {
        for (var k = 0; k < _bin.Length; k++)
            if (_bin[k] >= 0) Take(k);
        for (var b = 0; b < _open.Length; b++) _open[b] = _pinned[b];
        for (var k = 0; k < Best.Length; k++) Put(k, Best[k]);
        Array.Clear(_tabuUntil);
    }
}
