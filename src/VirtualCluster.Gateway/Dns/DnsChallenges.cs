using System.Collections.Concurrent;

namespace VirtualCluster.Gateway.Dns;

/// <summary>
/// TXT records the gateway's ACME client publishes for DNS-01 challenges (<c>_acme-challenge.&lt;name&gt;</c>,
/// relative to the cluster domain), served by its DNS responder until the order is done.
/// </summary>
public sealed class DnsChallenges
{
    private readonly ConcurrentDictionary<string, string[]> _texts = new(StringComparer.Ordinal);

    /// <summary>Publishes <paramref name="value"/> at <paramref name="relativeName"/> (lower case, without the zone).</summary>
    public void Add(string relativeName, string value) =>
        _texts.AddOrUpdate(relativeName.ToLowerInvariant(), [value], (_, old) => old.Contains(value) ? old : [.. old, value]);

    /// <summary>Withdraws <paramref name="value"/> from <paramref name="relativeName"/>.</summary>
    public void Remove(string relativeName, string value)
    {
        var key = relativeName.ToLowerInvariant();
        while (_texts.TryGetValue(key, out var old))
        {
            var rest = old.Where(v => v != value).ToArray();
            if (rest.Length == 0 ? _texts.TryRemove(new KeyValuePair<string, string[]>(key, old)) : _texts.TryUpdate(key, rest, old)) return;
        }
    }

    /// <summary>The TXT values at <paramref name="relativeName"/>; empty when none.</summary>
    public IReadOnlyList<string> Find(string relativeName) => _texts.TryGetValue(relativeName, out var values) ? values : [];
}
