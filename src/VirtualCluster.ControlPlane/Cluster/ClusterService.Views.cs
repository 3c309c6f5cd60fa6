using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Cluster;

public sealed partial class ClusterService
{
    /// <summary>One service with its instances and their URLs, or null.</summary>
    public async Task<ServiceView?> GetServiceViewAsync(string name, CancellationToken ct)
    {
        var service = await Store.GetServiceAsync(name, ct);
        if (service is null) return null;
        var nodes = await NodesByIdAsync(ct);
        var instances = await Store.ListInstancesAsync(service: name, cancellationToken: ct);
        return ToView(service, instances, nodes);
    }

    /// <summary>Every service.</summary>
    public async Task<IReadOnlyList<ServiceView>> ListServiceViewsAsync(CancellationToken ct)
    {
        var nodes = await NodesByIdAsync(ct);
        var instances = (await Store.ListInstancesAsync(cancellationToken: ct)).ToLookup(i => i.Service, StringComparer.Ordinal);
        var services = await Store.ListServicesAsync(ct);
        return services.OrderBy(s => s.Spec.Name, StringComparer.Ordinal)
            .Select(s => ToView(s, instances[s.Spec.Name].ToList(), nodes)).ToList();
    }

    /// <summary>Every node with its live state and reservations.</summary>
    public async Task<IReadOnlyList<NodeView>> ListNodeViewsAsync(CancellationToken ct)
    {
        var candidates = await BuildCandidatesAsync(ct);
        var instances = await Store.ListInstancesAsync(cancellationToken: ct);
        return candidates.OrderBy(c => c.Node.Name, StringComparer.Ordinal)
            .Select(c => new NodeView(c.Node, c.Allocated, instances.Count(i => i.NodeId == c.Node.Id && !i.IsTerminal)))
            .ToList();
    }

    /// <summary>Nodes and services together.</summary>
    public async Task<ClusterStatus> GetStatusAsync(CancellationToken ct) =>
        new(await ListNodeViewsAsync(ct), await ListServiceViewsAsync(ct), await GetCapacityAsync(ct));

    /// <summary>Nodes by id: the term's snapshot as it is (no copy), or read from the store.</summary>
    private async Task<IReadOnlyDictionary<string, NodeInfo>> NodesByIdAsync(CancellationToken ct) =>
        Term is { } term ? (await term.State.SnapshotAsync(ct)).Nodes
            : (await Store.ListNodesAsync(ct)).ToDictionary(n => n.Id, StringComparer.Ordinal);

    /// <summary>Services by name: the term's snapshot as it is (no copy), or read from the store.</summary>
    private async Task<IReadOnlyDictionary<string, ServiceRecord>> ServicesByNameAsync(CancellationToken ct) =>
        Term is { } term ? (await term.State.SnapshotAsync(ct)).Services
            : (await Store.ListServicesAsync(ct)).ToDictionary(s => s.Spec.Name, StringComparer.Ordinal);

    /// <summary>The last <paramref name="tail"/> stored log lines of each instance of a service, or null if the service is unknown.</summary>
    public async Task<LogsResponse?> GetLogsAsync(string service, int tail, CancellationToken ct)
    {
        if (await Store.GetServiceAsync(service, ct) is null) return null;
        var lines = new List<InstanceLogLine>();
        foreach (var instance in await Store.ListInstancesAsync(service: service, cancellationToken: ct))
        {
            var last = await Store.LastLogSequenceAsync(instance.Id, ct);
            var from = Math.Max(0, last - tail);
            foreach (var line in await Store.ReadLogsAsync(instance.Id, from, tail, ct))
                lines.Add(new InstanceLogLine(instance.Id, line));
        }
        return new LogsResponse(lines);
    }

    /// <summary>Events matching <paramref name="query"/>, oldest first.</summary>
    public Task<IReadOnlyList<ClusterEvent>> QueryEventsAsync(EventQuery query, CancellationToken ct) =>
        Store.QueryEventsAsync(query, ct);

    private ServiceView ToView(ServiceRecord service, IReadOnlyList<ServiceInstance> instances, IReadOnlyDictionary<string, NodeInfo> nodes)
    {
        var views = instances.OrderBy(i => i.CreatedAt).ThenBy(i => i.Id, StringComparer.Ordinal).Select(i =>
        {
            nodes.TryGetValue(i.NodeId, out var node);
            var urls = node is null || i.IsTerminal
                ? (IReadOnlyList<string>)[]
                : i.Ports.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"http://{node.Address}:{p.Value}/").ToList();
            return new InstanceView(i, node?.Name ?? i.NodeId, urls, ScoreAtPlacement(i, node), ReplicaViews(i, nodes, service.Spec),
                i.State == InstanceState.Running ? UsageOf(i.Id) : null);
        }).ToList();
        var running = instances.Count(i => i.State == InstanceState.Running);
        var pending = _pendingViews.TryGetValue(service.Spec.Name, out var work) ? work : [];
        return new ServiceView(Secrets.SecretSealer.Redact(service.Spec), service.CreatedAt, service.Spec.Replicas, running, views, pending);
    }
}
