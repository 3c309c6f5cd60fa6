namespace VirtualCluster.FailureDetection;

/// <summary>
/// The last <c>capacity</c> heartbeat intervals in a ring buffer, with a running sum and sum of squares so that
/// adding an interval and reading the mean or variance are O(1). Intervals are whole microseconds and the sums are
/// exact integers (the sum of squares is an <see cref="Int128"/>), so the statistics never drift however long the
/// window runs. Not thread-safe.
/// </summary>
internal sealed class IntervalWindow
{
    /// <summary>Longest interval kept; anything longer is recorded as this (a day, far beyond any threshold).</summary>
    public const long MaxIntervalMicros = 86_400_000_000;

    private readonly long[] _intervals;
    private int _next;
    private long _sum;
    private Int128 _sumOfSquares;

    public IntervalWindow(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        _intervals = new long[capacity];
    }

    public int Count { get; private set; }

    public int Capacity => _intervals.Length;

    /// <summary>Mean interval in microseconds (0 when empty).</summary>
    public double Mean => Count == 0 ? 0 : (double)_sum / Count;

    /// <summary>Population variance in square microseconds (0 when empty): E[x²] − E[x]², computed exactly.</summary>
    public double Variance
    {
        get
        {
            if (Count == 0) return 0;
            // n·Σx² − (Σx)² is exact in Int128 and never negative; divide once at the end.
            var numerator = Count * _sumOfSquares - (Int128)_sum * _sum;
            return (double)numerator / ((double)Count * Count);
        }
    }

    public double StandardDeviation => Math.Sqrt(Variance);

    /// <summary>Adds an interval, evicting the oldest once the window is full.</summary>
    public void Add(long micros)
    {
        micros = Math.Clamp(micros, 0, MaxIntervalMicros);
        if (Count == _intervals.Length)
        {
            var old = _intervals[_next];
            _sum -= old;
            _sumOfSquares -= (Int128)old * old;
        }
        else
        {
            Count++;
        }
        _intervals[_next] = micros;
        _sum += micros;
        _sumOfSquares += (Int128)micros * micros;
        _next = (_next + 1) % _intervals.Length;
    }

    public void Clear()
    {
        Count = 0;
        _next = 0;
        _sum = 0;
        _sumOfSquares = 0;
    }
}
