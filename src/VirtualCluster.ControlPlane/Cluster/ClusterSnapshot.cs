using System.Collections.Immutable;
using VirtualCluster.Api;
using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Cluster;

/// <summary>
/// The cluster at one version: nodes, services and instances with their indexes (instances by node, by service).
/// Immutable: a reader holds one and sees one consistent state however many writes follow.
/// </summary>
internal sealed class ClusterSnapshot
{
    private static readonly ImmutableHashSet<string> NoIds = ImmutableHashSet.Create<string>(StringComparer.Ordinal);

    public static readonly ClusterSnapshot Empty = new(0,
        ImmutableDictionary.Create<string, NodeInfo>(StringComparer.Ordinal),
        ImmutableDictionary.Create<string, string>(StringComparer.Ordinal),
        ImmutableDictionary.Create<string, ServiceRecord>(StringComparer.Ordinal),
        ImmutableDictionary.Create<string, ServiceInstance>(StringComparer.Ordinal),
        ImmutableDictionary.Create<string, ImmutableHashSet<string>>(StringComparer.Ordinal),
        ImmutableDictionary.Create<string, ImmutableHashSet<string>>(StringComparer.Ordinal), 0, new NodeOrder());

    private ClusterSnapshot(long version, ImmutableDictionary<string, NodeInfo> nodes, ImmutableDictionary<string, string> nodeIdsByName,
        ImmutableDictionary<string, ServiceRecord> services, ImmutableDictionary<string, ServiceInstance> instances,
        ImmutableDictionary<string, ImmutableHashSet<string>> byNode, ImmutableDictionary<string, ImmutableHashSet<string>> byService, int reportingNodes,
        NodeOrder order)
    {
        Order = order;
        Version = version;
        ReportingNodes = reportingNodes;
        Nodes = nodes;
        NodeIdsByName = nodeIdsByName;
        Services = services;
        Instances = instances;
        InstancesByNode = byNode;
        InstancesByService = byService;
    }

    /// <summary>Grows by one with every change; a change made at version v is in every snapshot from v on.</summary>
    public long Version { get; }
    public ImmutableDictionary<string, NodeInfo> Nodes { get; }
    public ImmutableDictionary<string, string> NodeIdsByName { get; }
    public ImmutableDictionary<string, ServiceRecord> Services { get; }
    public ImmutableDictionary<string, ServiceInstance> Instances { get; }
    public ImmutableDictionary<string, ImmutableHashSet<string>> InstancesByNode { get; }
    public ImmutableDictionary<string, ImmutableHashSet<string>> InstancesByService { get; }

    /// <summary>
    /// The node ids in name order, shared by every snapshot with the same nodes and names (a heartbeat's snapshot
    /// keeps it): listing the nodes in order costs a lookup per node, not a sort.
    /// </summary>
    public NodeOrder Order { get; }

    /// <summary>The nodes in name order (as the store lists them).</summary>
    public NodeInfo[] NodesInOrder()
    {
        var ids = Order.Ids(this);
        var nodes = new NodeInfo[ids.Length];
        for (var i = 0; i < ids.Length; i++) nodes[i] = Nodes[ids[i]];
        return nodes;
    }

    /// <summary>Node ids in name order, worked out on first use (immutable afterwards; a race computes the same array twice).</summary>
    internal sealed class NodeOrder
    {
        private string[]? _ids;

        public string[] Ids(ClusterSnapshot snapshot) =>
            _ids ??= snapshot.Nodes.Values.OrderBy(n => n.Name, StringComparer.Ordinal).Select(n => n.Id).ToArray();
    }

    /// <summary>Nodes whose record is not Left: the ones expected to send heartbeats (sizes the heartbeat interval).</summary>
    public int ReportingNodes { get; }

    /// <summary>
    /// This snapshot with one node record replaced by one of the same name and stored state (a heartbeat's new
    /// last-heartbeat time and usage): only the node table changes, so the indexes are shared as they are.
    /// </summary>
    public ClusterSnapshot WithNode(NodeInfo node, long version)
    {
        var old = Nodes[node.Id];
        if (old.Name != node.Name || (old.State == NodeState.Left) != (node.State == NodeState.Left))
            throw new InvalidOperationException("WithNode takes a record of the same name and reporting state; use a builder for other changes.");
        return new(version, Nodes.SetItem(node.Id, node), NodeIdsByName, Services, Instances, InstancesByNode, InstancesByService, ReportingNodes, Order);
    }

    public IEnumerable<ServiceInstance> InstancesOn(string nodeId) =>
        InstancesByNode.GetValueOrDefault(nodeId, NoIds).Select(id => Instances[id]);

    public IEnumerable<ServiceInstance> InstancesOf(string service) =>
        InstancesByService.GetValueOrDefault(service, NoIds).Select(id => Instances[id]);

    /// <summary>A node by id, or else by name (as the store finds it).</summary>
    public NodeInfo? FindNode(string idOrName) =>
        Nodes.GetValueOrDefault(idOrName) ?? (NodeIdsByName.TryGetValue(idOrName, out var id) ? Nodes.GetValueOrDefault(id) : null);

    /// <summary>What non-terminal instances reserve on a node, the host ports they hold, and one service name per instance.</summary>
    public NodeCandidate Candidate(NodeInfo node, NodeState liveState)
    {
        var allocated = Resources.Zero;
        var ports = new HashSet<int>();
        var names = new List<string>();
        foreach (var instance in InstancesOn(node.Id))
        {
            if (instance.IsTerminal) continue;
            if (Services.TryGetValue(instance.Service, out var service)) allocated += service.Spec.Resources;
            ports.UnionWith(instance.Ports.Values);
            names.Add(instance.Service);
        }
        return new NodeCandidate(node with { State = liveState }, allocated, ports, names);
    }

    public Builder ToBuilder() => new(this);

    /// <summary>Changes to a snapshot, made into the next one by <see cref="ToSnapshot"/>; for one writer at a time.</summary>
    internal sealed class Builder(ClusterSnapshot from)
    {
        private readonly ImmutableDictionary<string, NodeInfo>.Builder _nodes = from.Nodes.ToBuilder();
        private readonly ImmutableDictionary<string, string>.Builder _names = from.NodeIdsByName.ToBuilder();
        private readonly ImmutableDictionary<string, ServiceRecord>.Builder _services = from.Services.ToBuilder();
        private readonly ImmutableDictionary<string, ServiceInstance>.Builder _instances = from.Instances.ToBuilder();
        private readonly ImmutableDictionary<string, ImmutableHashSet<string>>.Builder _byNode = from.InstancesByNode.ToBuilder();
        private readonly ImmutableDictionary<string, ImmutableHashSet<string>>.Builder _byService = from.InstancesByService.ToBuilder();
        private int _reporting = from.ReportingNodes;
        private readonly NodeOrder _order = from.Order;
        private bool _reordered;

        public NodeInfo? Node(string id) => _nodes.GetValueOrDefault(id);
        public ServiceInstance? Instance(string id) => _instances.GetValueOrDefault(id);
        public ServiceRecord? Service(string name) => _services.GetValueOrDefault(name);

        public void PutNode(NodeInfo node)
        {
            var known = _nodes.TryGetValue(node.Id, out var old);
            if (known && old!.Name != node.Name && _names.GetValueOrDefault(old.Name) == node.Id) _names.Remove(old.Name);
            if (!known || old!.Name != node.Name) _reordered = true;
            if (known && old!.State != NodeState.Left) _reporting--;
            if (node.State != NodeState.Left) _reporting++;
            _nodes[node.Id] = node;
            _names[node.Name] = node.Id;
        }

        public void PutService(ServiceRecord service) => _services[service.Spec.Name] = service;

        /// <summary>Removes a service and its instances; returns the instances removed.</summary>
        public List<ServiceInstance> RemoveService(string name)
        {
            _services.Remove(name);
            var removed = _byService.GetValueOrDefault(name, NoIds).Select(id => _instances[id]).ToList();
            foreach (var instance in removed) RemoveInstance(instance.Id);
            return removed;
        }

        public void PutInstance(ServiceInstance instance)
        {
            if (_instances.TryGetValue(instance.Id, out var old) && old.NodeId != instance.NodeId) Unindex(_byNode, old.NodeId, old.Id);
            _instances[instance.Id] = instance;
            Index(_byNode, instance.NodeId, instance.Id);
            Index(_byService, instance.Service, instance.Id);
        }

        public ServiceInstance? RemoveInstance(string id)
        {
            if (!_instances.TryGetValue(id, out var old)) return null;
            _instances.Remove(id);
            Unindex(_byNode, old.NodeId, id);
            Unindex(_byService, old.Service, id);
            return old;
        }

        public ClusterSnapshot ToSnapshot(long version) => new(version, _nodes.ToImmutable(), _names.ToImmutable(), _services.ToImmutable(),
            _instances.ToImmutable(), _byNode.ToImmutable(), _byService.ToImmutable(), _reporting, _reordered ? new NodeOrder() : _order);

        private static void Index(ImmutableDictionary<string, ImmutableHashSet<string>>.Builder index, string key, string id) =>
            index[key] = index.GetValueOrDefault(key, NoIds).Add(id);

        private static void Unindex(ImmutableDictionary<string, ImmutableHashSet<string>>.Builder index, string key, string id)
        {
            if (!index.TryGetValue(key, out var ids)) return;
            ids = ids.Remove(id);
            if (ids.IsEmpty) index.Remove(key);
            else index[key] = ids;
        }
    }
}
