namespace VirtualCluster.FailureDetection;

/// <summary>
/// The φ accrual failure detector of Hayashibara, Défago, Yared and Katayama ("The φ Accrual Failure Detector",
/// SRDS 2004) for one monitored peer. Instead of a yes/no verdict after a fixed timeout it gives a suspicion
/// level φ that grows continuously with the silence since the last heartbeat, scaled by how regularly that peer
/// has reported so far. Callers compare φ with thresholds of their choosing.
/// </summary>
/// <remarks>
/// <para>Heartbeat inter-arrival times are modelled as a normal distribution whose mean μ and standard deviation σ
/// are those of the last <see cref="FailureDetectorOptions.MaxSampleSize"/> intervals. With t the time since the
/// last heartbeat:</para>
/// <code>
/// φ(t) = −log10( 1 − F(t) ),   F = CDF of N(μ + p, max(σ, σmin)²)
///      = −log10( ½·erfc( (t − μ − p) / (σ·√2) ) )
/// </code>
/// <para>where p is <see cref="FailureDetectorOptions.AcceptableHeartbeatPause"/> and σmin is
/// <see cref="FailureDetectorOptions.MinStandardDeviation"/>. φ = 1 means a heartbeat this late would still arrive
/// with probability 10%, φ = 2 with 1%, φ = 8 with 10⁻⁸: the chance that declaring the peer dead at threshold Φ is
/// a mistake is about 10^−Φ, as long as the model fits. φ is about 0.3 at t = μ + p, and beyond that grows roughly as
/// z²/(2·ln 10) with z = (t − μ − p)/σ, so each extra unit of φ costs less and less waiting.</para>
/// <para>Before the first heartbeat φ is 0 (nothing is monitored yet). The first heartbeat seeds the window with two
/// intervals, <see cref="FailureDetectorOptions.FirstHeartbeatEstimate"/> ± a quarter of it (mean = the estimate,
/// σ = a quarter of it), which the measured intervals push out of the window as it fills.</para>
/// <para>Updates and reads are O(1): the window keeps exact running sums. Thread-safe.</para>
/// </remarks>
public sealed class PhiAccrualDetector
{
    private readonly FailureDetectorOptions _options;
    private readonly TimeProvider _time;
    private readonly IntervalWindow _window;
    private readonly Lock _gate = new();
    private long? _lastTimestamp;
    private long _stretchMicros;

    /// <summary>Creates a detector.</summary>
    /// <param name="options">Parameters; copied, so later changes do not affect this detector.</param>
    /// <param name="time">Clock; the system clock when null.</param>
    /// <exception cref="ArgumentException">The options are invalid (see <see cref="FailureDetectorOptions.Validate"/>).</exception>
    public PhiAccrualDetector(FailureDetectorOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        _options = options.Clone();
        _time = time ?? TimeProvider.System;
        _window = new IntervalWindow(_options.MaxSampleSize);
    }

    /// <summary>True once a heartbeat was recorded (since creation or the last <see cref="Reset"/>).</summary>
    public bool IsMonitoring
    {
        get { lock (_gate) return _lastTimestamp is not null; }
    }

    /// <summary>Intervals currently in the window, including the two seeded by the first heartbeat.</summary>
    public int SampleCount
    {
        get { lock (_gate) return _window.Count; }
    }

    /// <summary>Mean interval of the window (zero before the first heartbeat).</summary>
    public TimeSpan MeanInterval
    {
        get { lock (_gate) return FromMicros(_window.Mean); }
    }

    /// <summary>Measured standard deviation of the window, before the <see cref="FailureDetectorOptions.MinStandardDeviation"/> floor.</summary>
    public TimeSpan StandardDeviation
    {
        get { lock (_gate) return FromMicros(_window.StandardDeviation); }
    }

    /// <summary>Time since the last heartbeat, or null before the first.</summary>
    public TimeSpan? SinceLastHeartbeat
    {
        get
        {
            lock (_gate) return _lastTimestamp is { } last ? _time.GetElapsedTime(last) : null;
        }
    }

    /// <summary>Records a heartbeat now; the peer's next one is expected at its usual rhythm.</summary>
    public void Heartbeat() => Record(0);

    /// <summary>
    /// Records a heartbeat now, after which the peer was told to wait <paramref name="nextInterval"/> before its
    /// next one (a leader that spreads a large cluster's heartbeats lengthens the interval it hands out). When that
    /// is longer than <see cref="FailureDetectorOptions.FirstHeartbeatEstimate"/> (the interval the detector is set
    /// up for), the difference, the stretch, is taken off the silence that follows before φ is computed and before
    /// <see cref="FailureDetectorOptions.MaxSilence"/> is applied, and off the interval it becomes in the window:
    /// the peer is judged on its lateness against what it was told, and the learned rhythm and jitter carry over
    /// from one interval to another. A peer told the usual interval is judged exactly as by <see cref="Heartbeat()"/>.
    /// Detection of a peer that stops takes the stretch longer (see <see cref="FailureDetectorOptions.MinimumDetectionTime"/>).
    /// </summary>
    public void Heartbeat(TimeSpan nextInterval) =>
        Record(Math.Max(0, ToMicros(nextInterval) - ToMicros(_options.FirstHeartbeatEstimate)));

    private void Record(long stretchMicros)
    {
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            if (_lastTimestamp is { } last)
            {
                _window.Add(ToMicros(_time.GetElapsedTime(last, now)) - _stretchMicros);
            }
            else
            {
                var estimate = ToMicros(_options.FirstHeartbeatEstimate);
                _window.Add(estimate - estimate / 4);
                _window.Add(estimate + estimate / 4);
            }
            _lastTimestamp = now;
            _stretchMicros = stretchMicros;
        }
    }

    /// <summary>How much longer than usual the peer was told to wait after its last heartbeat (zero when not told so).</summary>
    public TimeSpan Stretch
    {
        get { lock (_gate) return FromMicros(_stretchMicros); }
    }

    /// <summary>φ now: 0 before the first heartbeat, then growing with the silence (see the class remarks).</summary>
    public double Phi() => Read(out _, out _);

    /// <summary>φ, the silence it was computed from (read at the same instant) and the stretch taken off that silence.</summary>
    internal double Read(out TimeSpan? sinceLastHeartbeat, out TimeSpan stretch)
    {
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            sinceLastHeartbeat = null;
            stretch = TimeSpan.Zero;
            if (_lastTimestamp is not { } last) return 0;
            var silence = _time.GetElapsedTime(last, now);
            sinceLastHeartbeat = silence;
            stretch = FromMicros(_stretchMicros);
            return Phi(silence - stretch, FromMicros(_window.Mean), FromMicros(_window.StandardDeviation), _options);
        }
    }

    /// <summary>Forgets every heartbeat: the next one starts afresh from the first-heartbeat estimate.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _window.Clear();
            _lastTimestamp = null;
            _stretchMicros = 0;
        }
    }

    /// <summary>
    /// φ for a silence of <paramref name="sinceLastHeartbeat"/> given the window's mean and standard deviation,
    /// with the acceptable pause and deviation floor of <paramref name="options"/> applied (the formula of the
    /// class remarks).
    /// </summary>
    public static double Phi(TimeSpan sinceLastHeartbeat, TimeSpan meanInterval, TimeSpan standardDeviation, FailureDetectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var mean = meanInterval.TotalMilliseconds + options.AcceptableHeartbeatPause.TotalMilliseconds;
        var deviation = Math.Max(standardDeviation.TotalMilliseconds, options.MinStandardDeviation.TotalMilliseconds);
        var z = (sinceLastHeartbeat.TotalMilliseconds - mean) / deviation;
        return Math.Max(0, NormalTail.Phi(z));
    }

    private static long ToMicros(TimeSpan span) => span.Ticks / (TimeSpan.TicksPerMillisecond / 1000);

    private static TimeSpan FromMicros(double micros) => TimeSpan.FromTicks((long)Math.Round(micros * (TimeSpan.TicksPerMillisecond / 1000)));
}
