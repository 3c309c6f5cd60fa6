namespace VirtualCluster.Benchmarks.Failover;

/// <summary>A clock that only moves when told to: the same virtual time drives both detectors.</summary>
internal sealed class ManualTime : TimeProvider
{
    private long _ticks;

    public double NowMs => _ticks / (double)TimeSpan.TicksPerMillisecond;

    public void AdvanceTo(double ms) => _ticks = Math.Max(_ticks, (long)(ms * TimeSpan.TicksPerMillisecond));

    public override long GetTimestamp() => _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.UnixEpoch.AddTicks(_ticks);
}
