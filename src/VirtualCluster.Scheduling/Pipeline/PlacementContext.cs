using System.Runtime.CompilerServices;

namespace VirtualCluster.Scheduling;

/// <summary>
/// Everything the filters and scorers of one placement see: the spec, the cluster state and per-spec values that
/// are computed once (the statically eligible nodes, anything a stage caches with <see cref="GetOrCreateStatic{T}"/>).
/// </summary>
public sealed class PlacementContext
{
    internal PlacementContext(ClusterState cluster, ServiceSpec spec, IPlacementStrategy strategy, StaticEntry entry)
    {
        Cluster = cluster;
        Spec = spec;
        Strategy = strategy;
        Entry = entry;
        Demand = spec.Resources;
        PortsNeeded = spec.Ports.Count;
    }

    /// <summary>The cluster, with every reservation made so far.</summary>
    public ClusterState Cluster { get; }

    /// <summary>The service being placed.</summary>
    public ServiceSpec Spec { get; }

    /// <summary>The strategy ranking the nodes.</summary>
    public IPlacementStrategy Strategy { get; }

    /// <summary>Resources of one instance.</summary>
    public Resources Demand { get; }

    /// <summary>Host ports one instance needs.</summary>
    public int PortsNeeded { get; }

    internal StaticEntry Entry { get; }

    /// <summary>Instances of this service already in the cluster.</summary>
    public int ServiceTotal => Cluster.ServiceTotal(Spec.Name);

    /// <summary>Instances of this service on a node.</summary>
    public int ServiceCount(int node) => Cluster.ServiceCount(node, Spec.Name);

    /// <summary>Nodes that passed every static filter, by index.</summary>
    public ReadOnlySpan<int> StaticNodes => Entry.Nodes;

    /// <summary>
    /// A value that depends only on the spec and the nodes' registrations (e.g. per-node affinity scores), computed
    /// once per spec and cluster state. <paramref name="key"/> names the value; use a private object of your stage.
    /// </summary>
    public T GetOrCreateStatic<T>(object key, Func<PlacementContext, T> create) where T : class
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(create);
        if (Entry.Values.TryGetValue(key, out var value)) return (T)value;
        var created = create(this);
        Entry.Values[key] = created;
        return created;
    }
}

/// <summary>Nodes passing the static filters (never written after it is made) and how many each filter removed.</summary>
internal sealed record StaticResult(int[] Nodes, List<(IPlacementFilter Filter, int Removed)> Removed);

/// <summary>Per-spec cache: the static filters' result (shared by specs alike in what those filters read) and values computed for the spec.</summary>
internal sealed class StaticEntry(StaticResult result)
{
    public int[] Nodes { get; } = result.Nodes;
    public List<(IPlacementFilter Filter, int Removed)> Removed { get; } = result.Removed;
    public Dictionary<object, object> Values { get; } = new(ReferenceEqualityComparer.Instance);
}

/// <summary>Compares (pipeline, spec) keys by reference: a spec object is the unit of caching.</summary>
internal sealed class StaticKeyComparer : IEqualityComparer<(object Pipeline, ServiceSpec Spec)>
{
    public static readonly StaticKeyComparer Instance = new();

    public bool Equals((object Pipeline, ServiceSpec Spec) x, (object Pipeline, ServiceSpec Spec) y) =>
        ReferenceEquals(x.Pipeline, y.Pipeline) && ReferenceEquals(x.Spec, y.Spec);

    public int GetHashCode((object Pipeline, ServiceSpec Spec) obj) =>
        HashCode.Combine(RuntimeHelpers.GetHashCode(obj.Pipeline), RuntimeHelpers.GetHashCode(obj.Spec));
}
