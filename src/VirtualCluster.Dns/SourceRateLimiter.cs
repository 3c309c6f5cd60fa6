using System.Net;
using System.Net.Sockets;

namespace VirtualCluster.Dns;

/// <summary>
/// A token bucket per source (an IPv4 address, or an IPv6 /64: one host owns a whole /64), so one asker, or a victim
/// whose address is spoofed, gets at most <c>rate</c> answers a second. The table is bounded: when full, buckets that
/// have refilled are forgotten, and if none has, new sources share one overflow bucket rather than growing memory.
/// </summary>
internal sealed class SourceRateLimiter
{
    private readonly double _rate;
    private readonly double _burst;
    private readonly int _maxSources;
    private readonly TimeProvider _time;
    private readonly Dictionary<UInt128, Bucket> _buckets = [];
    private readonly Bucket _overflow;
    private readonly Lock _lock = new();

    private sealed class Bucket(double tokens, long at)
    {
        public double Tokens = tokens;
        public long At = at;
    }

    public SourceRateLimiter(double perSecond, int burst, int maxSources, TimeProvider time)
    {
        _rate = perSecond;
        _burst = burst;
        _maxSources = maxSources;
        _time = time;
        _overflow = new Bucket(burst, time.GetTimestamp());
    }

    public int TrackedSources { get { lock (_lock) return _buckets.Count; } }

    /// <summary>True when <paramref name="source"/> may have an answer now (and takes one token).</summary>
    public bool TryTake(IPAddress source)
    {
        var key = Key(source);
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            if (!_buckets.TryGetValue(key, out var bucket))
            {
                if (_buckets.Count >= _maxSources) ForgetRefilled(now);
                if (_buckets.Count >= _maxSources) bucket = _overflow;
                else _buckets[key] = bucket = new Bucket(_burst, now);
            }
            var elapsed = _time.GetElapsedTime(bucket.At, now).TotalSeconds;
            bucket.Tokens = Math.Min(_burst, bucket.Tokens + elapsed * _rate);
            bucket.At = now;
            if (bucket.Tokens < 1) return false;
            bucket.Tokens -= 1;
            return true;
        }
    }

    private void ForgetRefilled(long now)
    {
        var full = _burst / _rate;
        foreach (var (key, bucket) in _buckets)
            if (_time.GetElapsedTime(bucket.At, now).TotalSeconds >= full) _buckets.Remove(key);
    }

    private static UInt128 Key(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        if (address.AddressFamily == AddressFamily.InterNetwork)
            return (UInt128)(((uint)bytes[0] << 24) | ((uint)bytes[1] << 16) | ((uint)bytes[2] << 8) | bytes[3]);
        // The /64 prefix, tagged so it never equals an IPv4 key.
        return ((UInt128)1 << 64) | System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes);
    }
}
