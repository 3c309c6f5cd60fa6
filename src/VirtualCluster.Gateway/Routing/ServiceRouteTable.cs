using System.Collections.Frozen;
using VirtualCluster.Api;

namespace VirtualCluster.Gateway;

/// <summary>The route table: replaced whole on each refresh, read without locks.</summary>
internal sealed class ServiceRouteTable : IServiceRouteTable
{
    private volatile FrozenDictionary<string, ServiceRoute> _routes = FrozenDictionary<string, ServiceRoute>.Empty;
    private volatile FrozenDictionary<string, ServiceRoute> _byDomain = FrozenDictionary<string, ServiceRoute>.Empty;
    private DateTimeOffset? _refreshedAt;

    public ServiceRoute? Find(string service) => _routes.GetValueOrDefault(service);

    public ServiceRoute? FindByDomain(string domain) => _byDomain.GetValueOrDefault(domain.TrimEnd('.'));

    public IReadOnlyCollection<ServiceRoute> All => _routes.Values;

    public bool Loaded => _refreshedAt is not null;

    public DateTimeOffset? RefreshedAt => _refreshedAt;

    public void Replace(IReadOnlyList<ServiceView> services, IReadOnlyList<NodeView> nodes, DateTimeOffset now)
    {
        var routes = Build(services, nodes).ToList();
        _routes = routes.ToFrozenDictionary(r => r.Name, StringComparer.OrdinalIgnoreCase);
        // The control plane refuses a domain claimed twice; should two specs still name one, the first keeps it.
        var byDomain = new Dictionary<string, ServiceRoute>(StringComparer.OrdinalIgnoreCase);
        foreach (var route in routes)
            foreach (var domain in route.Spec.Domains) byDomain.TryAdd(domain, route);
        _byDomain = byDomain.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        _refreshedAt = now;
    }

    /// <summary>Routes from the control plane's views: an instance serves when it runs (health passed) on a live node.</summary>
    public static IEnumerable<ServiceRoute> Build(IReadOnlyList<ServiceView> services, IReadOnlyList<NodeView> nodes)
    {
        var byId = nodes.ToDictionary(n => n.Node.Id, n => n.Node, StringComparer.Ordinal);
        foreach (var service in services)
        {
            var portName = service.Spec.Ports.FirstOrDefault(p => p.Name == "http")?.Name ?? service.Spec.Ports.FirstOrDefault()?.Name;
            var endpoints = new List<ServiceEndpoint>();
            var underway = service.Pending is { Count: > 0 };
            foreach (var view in service.Instances)
            {
                var instance = view.Instance;
                if (instance.IsTerminal) continue;
                var node = byId.GetValueOrDefault(instance.NodeId);
                var nodeLive = node is { State: NodeState.Alive or NodeState.Draining };
                if (instance.State == InstanceState.Running && nodeLive && portName is not null && instance.Ports.TryGetValue(portName, out var port))
                    endpoints.Add(new ServiceEndpoint(instance.Id, instance.NodeId, node!.Address, port));
                else
                    underway = true; // starting, restarting, unhealthy or on a node that stopped answering: something will change
            }
            var state = $"{service.Running} of {service.Desired} instance(s) running"
                + (service.Pending is { Count: > 0 } p ? "; " + string.Join("; ", p.Select(w => $"{w.Kind}: {w.Reason}")) : "");
            yield return new ServiceRoute(service.Spec.Name, service.Spec, endpoints, underway, state);
        }
    }
}
