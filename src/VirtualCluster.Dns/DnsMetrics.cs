using System.Diagnostics.Metrics;

namespace VirtualCluster.Dns;

/// <summary>Counters of the DNS responder (meter <c>VirtualCluster.Dns</c>).</summary>
public sealed class DnsMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "VirtualCluster.Dns";

    private readonly Meter _meter;
    private readonly Counter<long> _answered;
    private readonly Counter<long> _dropped;

    /// <summary>Creates the counters on a meter from <paramref name="meterFactory"/> (or a private one).</summary>
    public DnsMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _answered = _meter.CreateCounter<long>("vc.dns.answers", description: "DNS responses sent, by rcode");
        _dropped = _meter.CreateCounter<long>("vc.dns.dropped", description: "DNS packets not answered, by reason (malformed, rate_limited, ...)");
    }

    internal void Answered(int rcode) => _answered.Add(1, new KeyValuePair<string, object?>("rcode", RcodeName(rcode)));

    internal void Dropped(string reason) => _dropped.Add(1, new KeyValuePair<string, object?>("reason", reason));

    private static string RcodeName(int rcode) => rcode switch
    {
        0 => "NOERROR", 1 => "FORMERR", 2 => "SERVFAIL", 3 => "NXDOMAIN", 4 => "NOTIMP", 5 => "REFUSED", 16 => "BADVERS", _ => "OTHER",
    };

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
