using System.Globalization;

namespace VirtualCluster.FailureDetection;

/// <summary>
/// Parameters of <see cref="PhiAccrualDetector"/> and <see cref="NodeFailureDetector"/>. The defaults suit
/// heartbeats every 500 ms on busy, shared machines: a node that stops reporting is Down about 3 s after its
/// last heartbeat, while pauses of a second or two (GC, a starved CPU, a slow network) raise suspicion but not
/// a failover. <see cref="MinimumDetectionTime"/> gives the exact figure for a heartbeat interval.
/// </summary>
/// <remarks>
/// <para>Trade-offs: lower thresholds, a smaller <see cref="MinStandardDeviation"/> or a shorter
/// <see cref="AcceptableHeartbeatPause"/> detect crashes sooner but mistake more pauses for crashes; the
/// detector widens its own tolerance when it observes irregular heartbeats, these settings only bound it from
/// below.</para>
/// <para>Call <see cref="Validate"/> (or <see cref="ThrowIfInvalid"/>) after changing values.</para>
/// </remarks>
public sealed class FailureDetectorOptions
{
    /// <summary>
    /// φ at or above which a node is Suspect: no new work is placed on it, running work is left alone.
    /// Default 3 (a heartbeat this late would still arrive about once in 1,000 intervals).
    /// </summary>
    public double SuspectThreshold { get; set; } = 3;

    /// <summary>
    /// φ at or above which a node is Down and its instances are moved. Default 8 (about once in 10^8 intervals).
    /// Akka uses 8 to 12 on LANs; every step of 1 adds roughly half a standard deviation of waiting.
    /// </summary>
    public double DownThreshold { get; set; } = 8;

    /// <summary>
    /// Lower bound on the standard deviation of heartbeat intervals. Very regular heartbeats would otherwise give
    /// a distribution so narrow that a few milliseconds of delay look like a crash. Default 200 ms.
    /// </summary>
    public TimeSpan MinStandardDeviation { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Extra silence tolerated on top of the mean interval before suspicion starts to grow: the length of pause
    /// (GC, CPU starvation, a lost heartbeat) that should never count as a failure. Default 1.5 s.
    /// </summary>
    public TimeSpan AcceptableHeartbeatPause { get; set; } = TimeSpan.FromMilliseconds(1500);

    /// <summary>
    /// How many recent intervals the mean and deviation are computed over (a sliding window; updates are O(1)).
    /// Larger windows react more slowly to a change of rhythm. Default 200 (100 s at 500 ms).
    /// </summary>
    public int MaxSampleSize { get; set; } = 200;

    /// <summary>
    /// The interval assumed before any has been measured: the first heartbeat seeds the window with a mean of this
    /// value and a deviation of a quarter of it. Set it to the heartbeat interval. Default 500 ms.
    /// </summary>
    public TimeSpan FirstHeartbeatEstimate { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Silence after which a node is Down whatever φ says, so a detector that learned very irregular heartbeats
    /// still gives up in bounded time; null for no bound. Default 15 s.
    /// </summary>
    public TimeSpan? MaxSilence { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Shortest silence after which <see cref="DownThreshold"/> can be reached when heartbeats arrive exactly every
    /// <paramref name="heartbeatInterval"/>: interval + acceptable pause + z·minimum deviation, where z is the
    /// normal quantile with upper tail 10^−threshold (capped by <see cref="MaxSilence"/>, which counts from the end
    /// of the interval the node was told when that is longer than <see cref="FirstHeartbeatEstimate"/>: see
    /// <see cref="PhiAccrualDetector.Heartbeat(TimeSpan)"/>). A node told to report every T is therefore declared
    /// Down about T + acceptable pause + z·minimum deviation after its last heartbeat: the detection time grows
    /// with the interval, one for one.
    /// </summary>
    public TimeSpan MinimumDetectionTime(TimeSpan heartbeatInterval)
    {
        var z = NormalTail.QuantileForPhi(DownThreshold);
        var time = heartbeatInterval + AcceptableHeartbeatPause + TimeSpan.FromMilliseconds(z * MinStandardDeviation.TotalMilliseconds);
        var stretch = heartbeatInterval > FirstHeartbeatEstimate ? heartbeatInterval - FirstHeartbeatEstimate : TimeSpan.Zero;
        return MaxSilence is { } max && max + stretch < time ? max + stretch : time;
    }

    /// <summary>Every problem with the current values, each naming the property and the fix; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!double.IsFinite(SuspectThreshold) || SuspectThreshold <= 0)
            errors.Add($"SuspectThreshold {Show(SuspectThreshold)} must be a positive number, e.g. 3.");
        if (!double.IsFinite(DownThreshold) || DownThreshold <= 0 || DownThreshold > 300)
            errors.Add($"DownThreshold {Show(DownThreshold)} must be a number above 0 and at most 300, e.g. 8.");
        if (double.IsFinite(SuspectThreshold) && double.IsFinite(DownThreshold) && SuspectThreshold >= DownThreshold)
            errors.Add($"SuspectThreshold {Show(SuspectThreshold)} must be below DownThreshold {Show(DownThreshold)}: a node is suspected before it is declared down.");
        if (MinStandardDeviation <= TimeSpan.Zero)
            errors.Add("MinStandardDeviation must be positive, e.g. 00:00:00.2; zero would make a perfectly regular node fail on the first late heartbeat.");
        if (AcceptableHeartbeatPause < TimeSpan.Zero)
            errors.Add("AcceptableHeartbeatPause must not be negative; use 00:00:00 for no extra tolerance.");
        if (MaxSampleSize is < 2 or > 100_000)
            errors.Add($"MaxSampleSize {MaxSampleSize} must be between 2 and 100000, e.g. 200.");
        if (FirstHeartbeatEstimate <= TimeSpan.Zero || FirstHeartbeatEstimate > TimeSpan.FromHours(1))
            errors.Add("FirstHeartbeatEstimate must be positive and at most an hour; set it to the heartbeat interval.");
        if (MaxSilence is { } max && (max <= TimeSpan.Zero || max <= FirstHeartbeatEstimate))
            errors.Add("MaxSilence must be longer than FirstHeartbeatEstimate (one heartbeat interval), or null for no bound.");
        return errors;
    }

    /// <summary>Throws <see cref="ArgumentException"/> listing every problem, if there is one.</summary>
    public void ThrowIfInvalid()
    {
        var errors = Validate();
        if (errors.Count > 0) throw new ArgumentException("Invalid failure detector options: " + string.Join(" ", errors));
    }

    /// <summary>A copy that later changes to this instance do not affect.</summary>
    public FailureDetectorOptions Clone() => (FailureDetectorOptions)MemberwiseClone();

    private static string Show(double value) => value.ToString(CultureInfo.InvariantCulture);
}
