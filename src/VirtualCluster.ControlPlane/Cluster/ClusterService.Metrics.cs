using System.Diagnostics.Metrics;

namespace VirtualCluster.ControlPlane.Cluster;

// What the leader's memory says now, for observable gauges: read from the last published snapshot, never loading the
// store (a scrape must not wait on it). A control plane that does not lead reports nothing.
public sealed partial class ClusterService
{
    private static readonly NodeState[] NodeStates = Enum.GetValues<NodeState>();
    private static readonly InstanceState[] InstanceStates = Enum.GetValues<InstanceState>();

    internal IEnumerable<Measurement<int>> ObserveNodes()
    {
        if (Volatile.Read(ref _term)?.State.Current is not { } snapshot) return [];
        var counts = new int[NodeStates.Length];
        foreach (var node in snapshot.Nodes.Values) counts[Array.IndexOf(NodeStates, LiveState(node))]++;
        return NodeStates.Select((state, i) => new Measurement<int>(counts[i], new KeyValuePair<string, object?>("state", NameOf(state))));
    }

    internal IEnumerable<Measurement<int>> ObserveInstances()
    {
        if (Volatile.Read(ref _term)?.State.Current is not { } snapshot) return [];
        var counts = new int[InstanceStates.Length];
        foreach (var instance in snapshot.Instances.Values) counts[Array.IndexOf(InstanceStates, instance.State)]++;
        return InstanceStates.Select((state, i) => new Measurement<int>(counts[i], new KeyValuePair<string, object?>("state", state.ToString().ToLowerInvariant())));
    }

    internal IEnumerable<Measurement<int>> ObserveServices()
    {
        if (Volatile.Read(ref _term)?.State.Current is not { } snapshot) return [];
        return [new Measurement<int>(snapshot.Services.Count)];
    }

    internal IEnumerable<Measurement<double>> ObservePhi()
    {
        if (Volatile.Read(ref _term)?.State.Current is not { } snapshot) return [];
        return snapshot.Nodes.Values.Where(n => n.State != NodeState.Left)
            .Select(n => new Measurement<double>(Math.Min(_detector.Inspect(n.Id).Phi, 1e6), new KeyValuePair<string, object?>("node", n.Name)));
    }
}
