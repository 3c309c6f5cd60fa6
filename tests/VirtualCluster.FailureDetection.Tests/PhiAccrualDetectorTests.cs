using Microsoft.Extensions.Time.Testing;

namespace VirtualCluster.FailureDetection.Tests;

/// <summary>The single-peer detector on virtual time, against φ values computed by hand from the normal tail.</summary>
public sealed class PhiAccrualDetectorTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));

    private static FailureDetectorOptions Options(int window = 10, int estimateMs = 1000, int minStdMs = 100, int pauseMs = 0) => new()
    {
        MaxSampleSize = window,
        FirstHeartbeatEstimate = TimeSpan.FromMilliseconds(estimateMs),
        MinStandardDeviation = TimeSpan.FromMilliseconds(minStdMs),
        AcceptableHeartbeatPause = TimeSpan.FromMilliseconds(pauseMs),
    };

    private void Advance(double ms) => _time.Advance(TimeSpan.FromMilliseconds(ms));

    [Fact]
    public void Phi_is_zero_before_the_first_heartbeat()
    {
        var detector = new PhiAccrualDetector(Options(), _time);
        Advance(60_000);
        Assert.Equal(0, detector.Phi());
        Assert.False(detector.IsMonitoring);
        Assert.Null(detector.SinceLastHeartbeat);
    }

    [Theory]
    // The first heartbeat seeds mean 1000 ms and deviation 250 ms.
    [InlineData(1000, 0.3010299957)] // z = 0
    [InlineData(1250, 0.7995455415)] // z = 1
    [InlineData(1500, 1.6430160801)] // z = 2
    [InlineData(2250, 6.5426456724)] // z = 5
    public void After_the_first_heartbeat_phi_follows_the_first_heartbeat_estimate(double silenceMs, double expected)
    {
        var detector = new PhiAccrualDetector(Options(), _time);
        detector.Heartbeat();
        Assert.Equal(TimeSpan.FromMilliseconds(1000), detector.MeanInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(250), detector.StandardDeviation);
        Advance(silenceMs);
        Assert.Equal(expected, detector.Phi(), 6);
    }

    [Theory]
    [InlineData(0, 1300, 2.8696990359)]   // regular 1 s heartbeats: deviation 0, floored to 100 ms; z = 3
    [InlineData(0, 1800, 15.2061425510)]  // z = 8
    [InlineData(500, 1800, 2.8696990359)] // with a 500 ms acceptable pause the same phi comes 500 ms later
    [InlineData(500, 1500, 0.3010299957)] // z = 0 at mean + pause
    public void Regular_heartbeats_use_the_minimum_deviation_and_the_acceptable_pause(int pauseMs, double silenceMs, double expected)
    {
        var detector = new PhiAccrualDetector(Options(window: 10, pauseMs: pauseMs), _time);
        for (var i = 0; i < 11; i++)
        {
            detector.Heartbeat();
            Advance(1000);
        }
        detector.Heartbeat(); // 11 measured intervals of exactly 1 s have pushed the two seeds out of the window of 10
        Assert.Equal(TimeSpan.FromSeconds(1), detector.MeanInterval);
        Assert.Equal(TimeSpan.Zero, detector.StandardDeviation);
        Advance(silenceMs);
        Assert.Equal(expected, detector.Phi(), 6);
    }

    [Fact]
    public void Measured_deviation_above_the_floor_is_used()
    {
        var detector = new PhiAccrualDetector(Options(window: 4, minStdMs: 10), _time);
        detector.Heartbeat();
        foreach (var interval in new[] { 800, 1200, 800, 1200 })
        {
            Advance(interval);
            detector.Heartbeat();
        }
        Assert.Equal(TimeSpan.FromMilliseconds(1000), detector.MeanInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(200), detector.StandardDeviation);
        Advance(1400); // z = 2
        Assert.Equal(1.6430160801, detector.Phi(), 6);
    }

    [Fact]
    public void Phi_grows_with_silence_and_drops_on_a_heartbeat()
    {
        var detector = new PhiAccrualDetector(Options(), _time);
        detector.Heartbeat();
        var previous = detector.Phi();
        for (var i = 0; i < 30; i++)
        {
            Advance(100);
            var phi = detector.Phi();
            Assert.True(phi > previous);
            previous = phi;
        }
        detector.Heartbeat();
        // The 3 s interval is now in the window (mean 1.67 s, deviation 0.94 s): z = -1.77 right after a heartbeat.
        Assert.InRange(detector.Phi(), 0, 0.02);
    }

    [Fact]
    public void Reset_forgets_every_heartbeat()
    {
        var detector = new PhiAccrualDetector(Options(), _time);
        detector.Heartbeat();
        Advance(5000);
        detector.Reset();
        Assert.False(detector.IsMonitoring);
        Assert.Equal(0, detector.Phi());
        Assert.Equal(0, detector.SampleCount);
    }

    [Fact]
    public void The_static_formula_matches_the_detector()
    {
        var options = Options(minStdMs: 50, pauseMs: 300);
        Assert.Equal(2.8696990359, PhiAccrualDetector.Phi(TimeSpan.FromMilliseconds(1600), TimeSpan.FromMilliseconds(1000), TimeSpan.FromMilliseconds(100), options), 6);
        // The deviation floor applies: 20 ms measured, 50 ms used; z = (1450 - 1300) / 50 = 3.
        Assert.Equal(2.8696990359, PhiAccrualDetector.Phi(TimeSpan.FromMilliseconds(1450), TimeSpan.FromMilliseconds(1000), TimeSpan.FromMilliseconds(20), options), 6);
        // Long before the expected arrival phi is 0, never negative.
        Assert.Equal(0, PhiAccrualDetector.Phi(TimeSpan.Zero, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(1), options), 9);
    }

    [Fact]
    public void Minimum_detection_time_is_when_a_regular_node_reaches_the_down_threshold()
    {
        var options = new FailureDetectorOptions { MaxSampleSize = 10 };
        var interval = TimeSpan.FromMilliseconds(500);
        var detection = options.MinimumDetectionTime(interval);
        Assert.InRange(detection.TotalMilliseconds, 3100, 3140); // 500 + 1500 + 5.61 * 200

        var detector = new PhiAccrualDetector(options, _time);
        for (var i = 0; i < 12; i++)
        {
            detector.Heartbeat();
            _time.Advance(interval);
        }
        detector.Heartbeat();
        _time.Advance(detection);
        Assert.Equal(options.DownThreshold, detector.Phi(), 3);
    }

    [Fact]
    public void Options_are_validated_with_every_problem_named()
    {
        var options = new FailureDetectorOptions
        {
            SuspectThreshold = 9,
            DownThreshold = 8,
            MinStandardDeviation = TimeSpan.Zero,
            AcceptableHeartbeatPause = TimeSpan.FromSeconds(-1),
            MaxSampleSize = 1,
            FirstHeartbeatEstimate = TimeSpan.Zero,
        };
        var errors = options.Validate();
        foreach (var name in new[] { "SuspectThreshold", "MinStandardDeviation", "AcceptableHeartbeatPause", "MaxSampleSize", "FirstHeartbeatEstimate" })
            Assert.Contains(errors, e => e.StartsWith(name, StringComparison.Ordinal));
        var thrown = Assert.Throws<ArgumentException>(() => new PhiAccrualDetector(options, _time));
        Assert.Contains("MaxSampleSize", thrown.Message);
        Assert.Empty(new FailureDetectorOptions().Validate());
        Assert.NotEmpty(new FailureDetectorOptions { DownThreshold = double.NaN }.Validate());
        Assert.NotEmpty(new FailureDetectorOptions { MaxSilence = TimeSpan.FromMilliseconds(100) }.Validate());
    }

    [Fact]
    public void Options_are_copied_so_later_changes_do_not_affect_a_detector()
    {
        var options = Options(minStdMs: 100);
        var detector = new PhiAccrualDetector(options, _time);
        options.MinStandardDeviation = TimeSpan.FromSeconds(10);
        detector.Heartbeat();
        Advance(1250);
        Assert.Equal(0.7995455415, detector.Phi(), 6);
    }
}
