using System.Diagnostics.Metrics;

namespace VirtualCluster.Gateway;

/// <summary>The gateway's meters (meter name <c>VirtualCluster.Gateway</c>).</summary>
internal sealed class GatewayMetrics : IDisposable
{
    private readonly Meter _meter = new("VirtualCluster.Gateway");
    private readonly Counter<long> _requests;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _dials;
    private readonly Counter<long> _certificates;
    private readonly Counter<long> _serviceCalls;
    private readonly Counter<long> _browserDirect;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _proxied = new(StringComparer.Ordinal);

    public GatewayMetrics()
    {
        _requests = _meter.CreateCounter<long>("vc.gateway.requests", description: "Requests answered, by service and status (0: cut after the response started)");
        _retries = _meter.CreateCounter<long>("vc.gateway.retries", description: "Requests sent again to another instance after a failed attempt");
        _dials = _meter.CreateCounter<long>("vcluster.gateway.dials", description: "Connections opened to instances, by path (direct, relayed, tunnel)");
        _certificates = _meter.CreateCounter<long>("vcluster.gateway.certificates", description: "Certificates taken into service, by source (ordered: an ACME order of this gateway; store: another gateway's, from the cluster store)");
        _serviceCalls = _meter.CreateCounter<long>("vcluster.gateway.service_calls", description: "Service-to-service connections from agents, by service and result (connected, unknownservice, noinstance, badrequest, unreachable)");
        _browserDirect = _meter.CreateCounter<long>("vcluster.gateway.browser_direct", description: "Browser-direct path: bootstrap pages, service workers and signaling sessions served (kind), none of them proxied");
        _meter.CreateObservableGauge("vcluster.gateway.links", () => (LinkPaths?.Invoke() ?? []).GroupBy(p => p)
            .Select(g => new Measurement<int>(g.Count(), new KeyValuePair<string, object?>("path", g.Key))),
            description: "Nodes by how the gateway reaches them (direct, relayed, tunnel, none)");
    }

    /// <summary>The path of every known node now (set by the gateway's dialer).</summary>
    public Func<IEnumerable<string>>? LinkPaths { get; set; }

    public void CertificateObtained(string source) => _certificates.Add(1, new KeyValuePair<string, object?>("source", source));

    /// <summary>Certificates this gateway ordered from its ACME CA since it started (also on /v1/gateway/certificates).</summary>
    public long Orders => Interlocked.Read(ref _orders);

    /// <summary>Counts one certificate obtained by an ACME order.</summary>
    public void Ordered()
    {
        Interlocked.Increment(ref _orders);
        CertificateObtained("ordered");
    }

    private long _orders;

    public void Dialed(string path) => _dials.Add(1, new KeyValuePair<string, object?>("path", path));

    public void Answered(string service, int status)
    {
        _requests.Add(1, new KeyValuePair<string, object?>("service", service), new KeyValuePair<string, object?>("status", status));
        _proxied.AddOrUpdate(service, 1, (_, n) => n + 1);
    }

    /// <summary>Requests for <paramref name="service"/> the proxy answered since the gateway started (also on /v1/gateway/routes).</summary>
    public long ProxiedFor(string service) => _proxied.GetValueOrDefault(service);

    /// <summary>Counts something of the browser-direct path the gateway served itself (page, worker, signaling).</summary>
    public void BrowserDirect(string kind) => _browserDirect.Add(1, new KeyValuePair<string, object?>("kind", kind));

    public void Retried(string service) => _retries.Add(1, new KeyValuePair<string, object?>("service", service));

    public void ServiceCall(string service, Routing.ServiceCalls.ServiceCallStatus status)
    {
        Interlocked.Increment(ref _serviceCallCount);
        _serviceCalls.Add(1, new KeyValuePair<string, object?>("service", service), new KeyValuePair<string, object?>("result", status.ToString().ToLowerInvariant()));
    }

    /// <summary>Service calls answered since the gateway started (also on /v1/gateway/routes).</summary>
    public long ServiceCalls => Interlocked.Read(ref _serviceCallCount);

    private long _serviceCallCount;

    public void Dispose() => _meter.Dispose();
}
