namespace VirtualCluster.ControlPlane.Tests.Failover;

public sealed class ControlPlaneOptionsTests
{
    private static IReadOnlyList<string> Validate(Action<ControlPlaneOptions> change)
    {
        var options = new ControlPlaneOptions { DataDirectory = "/tmp/x" };
        change(options);
        var result = new ControlPlaneOptionsValidator().Validate(null, options);
        return result.Failures?.ToList() ?? [];
    }

    [Fact]
    public void Defaults_are_valid_and_detect_a_crash_in_about_three_seconds()
    {
        Assert.Empty(Validate(_ => { }));
        var options = new ControlPlaneOptions();
        Assert.InRange(options.FailureDetector.MinimumDetectionTime(options.HeartbeatInterval).TotalSeconds, 3.0, 3.2);
        Assert.True(options.FencingLease + options.FencingMargin <= TimeSpan.FromSeconds(4));
    }

    [Theory]
    [InlineData("heartbeat", "HeartbeatInterval must be between 100 ms and 30 s")]
    [InlineData("detector", "FailureDetector.DownThreshold")]
    [InlineData("eager", "would declare a node Down after a single late heartbeat")]
    [InlineData("lease", "FencingLease must be 0 (self-fencing off) or between two heartbeat intervals")]
    [InlineData("margin", "FencingMargin must be between 0 and 1 minute")]
    [InlineData("check", "FailureCheckInterval must be positive and at most ReconcileInterval")]
    [InlineData("backoff", "RetryBackoff must be positive")]
    [InlineData("rate", "MaxHeartbeatsPerSecond must be a number from 1 to 1000000")]
    [InlineData("rate-nan", "MaxHeartbeatsPerSecond must be a number from 1 to 1000000")]
    [InlineData("full", "FullReconcileInterval must be positive and at most 1 h")]
    public void Each_problem_is_named_with_its_fix(string what, string message)
    {
        var errors = Validate(o =>
        {
            switch (what)
            {
                case "heartbeat": o.HeartbeatInterval = TimeSpan.FromMilliseconds(10); break;
                case "detector": o.FailureDetector.DownThreshold = -1; break;
                case "eager":
                    o.FailureDetector.AcceptableHeartbeatPause = TimeSpan.Zero;
                    o.FailureDetector.MinStandardDeviation = TimeSpan.FromMilliseconds(1);
                    o.FailureDetector.DownThreshold = 1;
                    o.FailureDetector.SuspectThreshold = 0.5;
                    break;
                case "lease": o.FencingLease = TimeSpan.FromMilliseconds(600); break;
                case "margin": o.FencingMargin = TimeSpan.FromSeconds(-1); break;
                case "check": o.FailureCheckInterval = TimeSpan.FromSeconds(5); break;
                case "backoff": o.RetryBackoff = TimeSpan.Zero; break;
                case "rate": o.MaxHeartbeatsPerSecond = 0.5; break;
                case "rate-nan": o.MaxHeartbeatsPerSecond = double.NaN; break;
                case "full": o.FullReconcileInterval = TimeSpan.Zero; break;
            }
        });
        Assert.Contains(errors, e => e.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void A_zero_lease_turns_self_fencing_off() => Assert.Empty(Validate(o => o.FencingLease = TimeSpan.Zero));
}
