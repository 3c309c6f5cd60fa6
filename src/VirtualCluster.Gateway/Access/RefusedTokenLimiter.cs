using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace VirtualCluster.Gateway.Access;

/// <summary>
/// Per client address, a token bucket of access-token checks that may still fail: each check takes a token before the
/// token is parsed and its signature checked (or the control plane asked), and a check that succeeds gives it back.
/// So a client sending forged or garbage tokens gets <c>burst</c> checks, then one per <c>1/rate</c> seconds, and
/// the rest are refused without any work; clients with valid tokens are never slowed. Thread-safe.
/// </summary>
/// <remarks>
/// IPv6 clients are counted per /64 (one host usually owns a whole /64, so single addresses would be free to rotate).
/// Memory is bounded by <c>maxAddresses</c>: when full, buckets that have refilled completely (idle clients) are
/// dropped, and if that frees nothing every bucket is: an attacker with that many addresses gains one fresh burst each.
/// </remarks>
internal sealed class RefusedTokenLimiter(double ratePerSecond, int burst, int maxAddresses, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Bucket> buckets = new(StringComparer.Ordinal);

    /// <summary>Addresses tracked now.</summary>
    public int Count => buckets.Count;

    /// <summary>Takes a check for <paramref name="address"/>; false (with when to try again) when its budget is spent.</summary>
    public bool TryTake(IPAddress? address, out TimeSpan retryAfter)
    {
        var key = KeyOf(address);
        if (!buckets.TryGetValue(key, out var bucket))
        {
            if (buckets.Count >= maxAddresses) Sweep();
            bucket = buckets.GetOrAdd(key, _ => new Bucket(burst, time.GetTimestamp()));
        }
        lock (bucket)
        {
            Refill(bucket);
            if (bucket.Tokens >= 1)
            {
                bucket.Tokens -= 1;
                retryAfter = TimeSpan.Zero;
                return true;
            }
            retryAfter = TimeSpan.FromSeconds((1 - bucket.Tokens) / ratePerSecond);
            return false;
        }
    }

    /// <summary>Gives back the check taken for <paramref name="address"/>: its token turned out valid.</summary>
    public void GiveBack(IPAddress? address)
    {
        if (!buckets.TryGetValue(KeyOf(address), out var bucket)) return;
        lock (bucket) bucket.Tokens = Math.Min(burst, bucket.Tokens + 1);
    }

    /// <summary>The bucket key: an IPv4 address (IPv4-mapped IPv6 included), an IPv6 /64, or "unknown" (no address, e.g. a test host).</summary>
    internal static string KeyOf(IPAddress? address)
    {
        if (address is null) return "unknown";
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }

    private void Refill(Bucket bucket)
    {
        var now = time.GetTimestamp();
        bucket.Tokens = Math.Min(burst, bucket.Tokens + time.GetElapsedTime(bucket.Last, now).TotalSeconds * ratePerSecond);
        bucket.Last = now;
    }

    private void Sweep()
    {
        foreach (var (key, bucket) in buckets)
        {
            lock (bucket)
            {
                Refill(bucket);
                if (bucket.Tokens >= burst) buckets.TryRemove(key, out _);
            }
        }
        if (buckets.Count >= maxAddresses) buckets.Clear();
    }

    private sealed class Bucket(double tokens, long last)
    {
        public double Tokens = tokens;
        public long Last = last;
    }
}
