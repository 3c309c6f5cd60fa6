namespace VirtualCluster.Dns;

/// <summary>
/// The names a zone holds, asked on every query (keep it cheap and non-blocking: a lookup in memory). Names are
/// relative to the zone, in lower case, without the final dot: "hello" for hello.&lt;zone&gt;,
/// "_acme-challenge.hello" for its DNS-01 challenge.
/// </summary>
public interface IDnsRecordSource
{
    /// <summary>True when <paramref name="relativeName"/> is answered with the zone's addresses (a service's name).</summary>
    bool HasAddress(string relativeName);

    /// <summary>TXT records at <paramref name="relativeName"/>; empty when none. An ACME DNS-01 challenge lives here.</summary>
    IReadOnlyList<string> FindText(string relativeName);
}
