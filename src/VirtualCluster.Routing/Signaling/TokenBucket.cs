namespace VirtualCluster.Routing.Signaling;

/// <summary>
/// A token bucket: holds up to <c>burst</c> tokens, refilled continuously at <c>rate</c> per second; each message takes
/// one. So a peer may send <c>burst</c> messages at once and <c>rate</c> per second on average. Not thread-safe: one per
/// connection, used by its receive loop only.
/// </summary>
internal sealed class TokenBucket(double rate, int burst, TimeProvider time)
{
    private double tokens = burst;
    private long last = time.GetTimestamp();

    /// <summary>Takes a token; false when the bucket is empty.</summary>
    public bool TryTake()
    {
        var now = time.GetTimestamp();
        tokens = Math.Min(burst, tokens + time.GetElapsedTime(last, now).TotalSeconds * rate);
        last = now;
        if (tokens < 1) return false;
        tokens -= 1;
        return true;
    }
}
