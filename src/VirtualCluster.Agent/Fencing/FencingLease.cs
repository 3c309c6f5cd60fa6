namespace VirtualCluster.Agent.Fencing;

/// <summary>
/// The self-fencing lease: renewed by every successful heartbeat, counted from when that heartbeat was sent (so
/// the agent's lease always runs out before the control plane's view of the silence reaches it). While expired,
/// the agent must not run its singleton instances. Thread-safe.
/// </summary>
internal sealed class FencingLease(TimeProvider time)
{
    private readonly Lock _gate = new();
    private long? _renewedAt;
    private TimeSpan _duration;

    /// <summary>Lease length last announced by the control plane; zero when fencing is off or not yet known.</summary>
    public TimeSpan Duration
    {
        get { lock (_gate) return _duration; }
    }

    /// <summary>True once a lease is known and fencing is on.</summary>
    public bool IsActive
    {
        get { lock (_gate) return _renewedAt is not null && _duration > TimeSpan.Zero; }
    }

    /// <summary>Time since the heartbeat that last renewed the lease was sent, or null before the first.</summary>
    public TimeSpan? SinceRenewal
    {
        get { lock (_gate) return _renewedAt is { } at ? time.GetElapsedTime(at) : null; }
    }

    /// <summary>True when fencing is on and no heartbeat sent within the lease got an answer.</summary>
    public bool IsExpired
    {
        get
        {
            lock (_gate) return _renewedAt is { } at && _duration > TimeSpan.Zero && time.GetElapsedTime(at) >= _duration;
        }
    }

    /// <summary>Renews with the answer to a heartbeat sent at <paramref name="sentAt"/> (a <see cref="TimeProvider"/> timestamp).</summary>
    public void Renew(long sentAt, TimeSpan duration)
    {
        lock (_gate)
        {
            if (_renewedAt is null || sentAt > _renewedAt) _renewedAt = sentAt;
            _duration = duration < TimeSpan.Zero ? TimeSpan.Zero : duration;
        }
    }
}
