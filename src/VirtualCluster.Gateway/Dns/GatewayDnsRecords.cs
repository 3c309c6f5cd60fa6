using VirtualCluster.Dns;

namespace VirtualCluster.Gateway.Dns;

/// <summary>
/// The cluster zone as the gateway knows it: every deployed service's name (one label under the domain, as the
/// proxy routes them) resolves to the gateways; ACME challenges are the only TXT records.
/// </summary>
internal sealed class GatewayDnsRecords(IServiceRouteTable routes, DnsChallenges challenges) : IDnsRecordSource
{
    public bool HasAddress(string relativeName) => !relativeName.Contains('.') && routes.Find(relativeName) is not null;

    public IReadOnlyList<string> FindText(string relativeName) => challenges.Find(relativeName);
}
