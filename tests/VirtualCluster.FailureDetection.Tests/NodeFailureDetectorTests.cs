using Microsoft.Extensions.Time.Testing;

namespace VirtualCluster.FailureDetection.Tests;

/// <summary>Node states from the per-node registry, on virtual time.</summary>
public sealed class NodeFailureDetectorTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
    private readonly FailureDetectorOptions _options = new();
    private readonly NodeFailureDetector _detector;

    public NodeFailureDetectorTests() => _detector = new NodeFailureDetector(_options, _time);

    /// <summary>Regular heartbeats for a while, so the window holds measured intervals only.</summary>
    private void Regular(string node, int count = 250)
    {
        for (var i = 0; i < count; i++)
        {
            _detector.Heartbeat(node);
            _time.Advance(Interval);
        }
        _detector.Heartbeat(node);
    }

    /// <summary>Advances in 10 ms steps until <paramref name="state"/> and returns the silence then.</summary>
    private TimeSpan SilenceUntil(string node, NodeState state)
    {
        for (var i = 0; i < 10_000; i++)
        {
            if (_detector.GetState(node) == state) return _detector.Inspect(node).SinceLastHeartbeat!.Value;
            _time.Advance(TimeSpan.FromMilliseconds(10));
        }
        throw new Xunit.Sdk.XunitException($"{node} never became {state}");
    }

    [Fact]
    public void A_node_told_a_longer_interval_is_judged_against_it_and_one_told_the_usual_one_as_before()
    {
        // Learned at 500 ms, then told to report every minute (four times MaxSilence): judged on its lateness.
        for (var i = 0; i < 250; i++)
        {
            _detector.Heartbeat("slow");
            _detector.Heartbeat("usual");
            _time.Advance(Interval);
        }
        _detector.Heartbeat("slow", TimeSpan.FromMinutes(1));
        _detector.Heartbeat("usual", Interval); // the usual interval: no stretch
        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(NodeState.Alive, _detector.GetState("slow"));
        Assert.Equal(NodeState.Down, _detector.GetState("usual")); // positive control: silence judged as before
        // The heartbeat that arrives on time keeps it alive, and the interval it closes enters the window as the
        // usual 500 ms (minus the stretch), so the learned rhythm carries over.
        _time.Advance(TimeSpan.FromSeconds(1));
        _detector.Heartbeat("slow", TimeSpan.FromMinutes(1));
        Assert.Equal(NodeState.Alive, _detector.GetState("slow"));
        // It stops: Down at MinimumDetectionTime(1 min) (60 + 1.5 + 5.6 x 0.2 s), not at MaxSilence (15 s).
        var downAfter = SilenceUntil("slow", NodeState.Down);
        Assert.InRange(downAfter.TotalSeconds, _options.MinimumDetectionTime(TimeSpan.FromMinutes(1)).TotalSeconds - 0.05, 62.7);
        Assert.True(downAfter > TimeSpan.FromMinutes(1) + _options.AcceptableHeartbeatPause);
    }

    [Fact]
    public void Max_silence_counts_from_the_end_of_the_interval_told()
    {
        var options = new FailureDetectorOptions { MaxSilence = TimeSpan.FromSeconds(5), DownThreshold = 300, SuspectThreshold = 299 };
        var detector = new NodeFailureDetector(options, _time);
        detector.Heartbeat("a", TimeSpan.FromSeconds(20));
        detector.Heartbeat("b");
        _time.Advance(TimeSpan.FromSeconds(19));
        Assert.Equal(NodeState.Alive, detector.GetState("a"));
        Assert.Equal(NodeState.Down, detector.GetState("b")); // positive control: 19 s > MaxSilence for a node told nothing
        _time.Advance(TimeSpan.FromSeconds(5.5)); // 24.5 s = 19.5 s of stretch + 5 s of MaxSilence
        Assert.Equal(NodeState.Down, detector.GetState("a"));
        Assert.Equal(TimeSpan.FromSeconds(24.5), options.MinimumDetectionTime(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public void A_node_never_heard_of_is_down_with_infinite_phi()
    {
        var liveness = _detector.Inspect("ghost");
        Assert.Equal(NodeState.Down, liveness.State);
        Assert.True(double.IsPositiveInfinity(liveness.Phi));
        Assert.Null(liveness.SinceLastHeartbeat);
    }

    [Fact]
    public void A_silent_node_goes_alive_then_suspect_then_down_at_the_thresholds()
    {
        Regular("n1");
        Assert.Equal(NodeState.Alive, _detector.GetState("n1"));

        var suspectAt = SilenceUntil("n1", NodeState.Suspect);
        Assert.InRange(_detector.Inspect("n1").Phi, _options.SuspectThreshold, _options.DownThreshold);
        var downAt = SilenceUntil("n1", NodeState.Down);

        // 500 + 1500 + z * 200 with z = 3.09 (phi 3) and z = 5.61 (phi 8).
        Assert.InRange(suspectAt.TotalMilliseconds, 2610, 2630);
        Assert.InRange(downAt.TotalMilliseconds, 3110, 3140);
        Assert.True(_detector.Inspect("n1").Phi >= _options.DownThreshold);
    }

    [Fact]
    public void Pauses_up_to_two_seconds_never_make_a_regular_node_suspect()
    {
        Regular("n1");
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(NodeState.Alive, _detector.GetState("n1"));
        _detector.Heartbeat("n1");
        Assert.Equal(NodeState.Alive, _detector.GetState("n1"));
    }

    [Fact]
    public void Irregular_heartbeats_widen_the_tolerance()
    {
        Regular("steady");
        var random = new Random(7);
        for (var i = 0; i < 250; i++)
        {
            _detector.Heartbeat("jittery");
            // 500 ms plus up to 400 ms of random delay, and now and then a 500 ms stall on top.
            _time.Advance(Interval + TimeSpan.FromMilliseconds(random.Next(0, 400) + (i % 7 == 0 ? 500 : 0)));
        }
        _detector.Heartbeat("jittery");
        _detector.Heartbeat("steady");

        _time.Advance(TimeSpan.FromMilliseconds(2800));
        Assert.Equal(NodeState.Suspect, _detector.GetState("steady"));
        Assert.Equal(NodeState.Alive, _detector.GetState("jittery"));
        var jitteryDown = SilenceUntil("jittery", NodeState.Down);
        Assert.True(jitteryDown > TimeSpan.FromSeconds(3.2), $"down after {jitteryDown}");
    }

    [Fact]
    public void Max_silence_bounds_detection_however_irregular_the_history()
    {
        var options = new FailureDetectorOptions { MaxSilence = TimeSpan.FromSeconds(5), MinStandardDeviation = TimeSpan.FromSeconds(10) };
        var detector = new NodeFailureDetector(options, _time);
        detector.Heartbeat("n1");
        _time.Advance(TimeSpan.FromMilliseconds(4990));
        Assert.NotEqual(NodeState.Down, detector.GetState("n1"));
        _time.Advance(TimeSpan.FromMilliseconds(10));
        Assert.Equal(NodeState.Down, detector.GetState("n1"));
    }

    [Fact]
    public void A_heartbeat_after_down_starts_afresh_so_the_outage_does_not_slow_the_next_detection()
    {
        Regular("n1");
        var firstDetection = SilenceUntil("n1", NodeState.Down);
        _time.Advance(TimeSpan.FromMinutes(2)); // a long outage

        Regular("n1");
        Assert.Equal(NodeState.Alive, _detector.GetState("n1"));
        var secondDetection = SilenceUntil("n1", NodeState.Down);
        Assert.Equal(firstDetection, secondDetection);
    }

    [Fact]
    public void A_node_that_left_is_left_until_it_reports_again()
    {
        Regular("n1", 10);
        _detector.Leave("n1");
        _time.Advance(TimeSpan.FromMinutes(10));
        var liveness = _detector.Inspect("n1");
        Assert.Equal(NodeState.Left, liveness.State);
        Assert.Equal(0, liveness.Phi);

        _detector.Heartbeat("n1");
        Assert.Equal(NodeState.Alive, _detector.GetState("n1"));
        _detector.Leave("never-seen");
        Assert.Equal(NodeState.Left, _detector.GetState("never-seen"));
    }

    [Fact]
    public void Remove_forgets_a_node()
    {
        _detector.Heartbeat("n1");
        Assert.Contains("n1", _detector.Nodes);
        _detector.Remove("n1");
        Assert.Equal(NodeState.Down, _detector.GetState("n1"));
        Assert.DoesNotContain("n1", _detector.Nodes);
    }

    [Fact]
    public void Nodes_are_independent()
    {
        Regular("n1");
        _time.Advance(TimeSpan.FromSeconds(4));
        _detector.Heartbeat("n2");
        Assert.Equal(NodeState.Down, _detector.GetState("n1"));
        Assert.Equal(NodeState.Alive, _detector.GetState("n2"));
    }

    [Fact]
    public void Concurrent_heartbeats_and_reads_are_safe()
    {
        var detector = new NodeFailureDetector(_options, TimeProvider.System);
        Parallel.For(0, 20_000, i =>
        {
            var node = $"n{i % 8}";
            if (i % 3 == 0) detector.Heartbeat(node);
            else if (i % 500 == 1) detector.Leave(node);
            else _ = detector.Inspect(node);
        });
        Assert.Equal(8, detector.Nodes.Count);
    }

    [Fact]
    public void Invalid_options_are_rejected_at_construction()
    {
        var error = Assert.Throws<ArgumentException>(() => new NodeFailureDetector(new FailureDetectorOptions { SuspectThreshold = 0 }, _time));
        Assert.Contains("SuspectThreshold", error.Message);
    }
}
