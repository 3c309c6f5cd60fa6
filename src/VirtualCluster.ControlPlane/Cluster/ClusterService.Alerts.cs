namespace VirtualCluster.ControlPlane.Cluster;

/// <summary>A node as the alert rules see it.</summary>
internal sealed record AlertNode(string Name, NodeState State, double Phi);

/// <summary>A service as the alert rules see it: instances it asks for, and how many run healthy.</summary>
internal sealed record AlertService(string Name, int Desired, int Running);

// Facts for the alert rules, from the leader's memory (never the store), and their events.
public sealed partial class ClusterService
{
    /// <summary>Nodes and services now, or null while this control plane does not lead (or has not loaded yet).</summary>
    internal (IReadOnlyList<AlertNode> Nodes, IReadOnlyList<AlertService> Services)? AlertFacts()
    {
        if (Volatile.Read(ref _term)?.State.Current is not { } snapshot) return null;
        // A node the detector has not heard from yet (it is joining, or this leader just began) is not judged: its
        // first heartbeat is on its way, and "no heartbeat yet" is not "down".
        var nodes = snapshot.Nodes.Values.Where(n => n.State != NodeState.Left)
            .Select(n => (Node: n, Liveness: _detector.Inspect(n.Id)))
            .Where(n => n.Liveness.SinceLastHeartbeat is not null)
            .Select(n => new AlertNode(n.Node.Name, LiveState(n.Node), n.Liveness.Phi)).ToList();
        var services = snapshot.Services.Values
            .Select(s => new AlertService(s.Spec.Name, s.Spec.Replicas, snapshot.InstancesOf(s.Spec.Name).Count(i => i.State == InstanceState.Running)))
            .ToList();
        return (nodes, services);
    }

    /// <summary>A cluster-wide setting (the user's alert rules live in one).</summary>
    internal Task<string?> GetSettingAsync(string key, CancellationToken ct) => Store.GetSettingAsync(key, ct);

    /// <summary>Replaces a cluster-wide setting if it still holds <paramref name="expected"/>.</summary>
    internal Task<bool> ReplaceSettingAsync(string key, string? expected, string value, CancellationToken ct) => Store.ReplaceSettingAsync(key, expected, value, ct);

    /// <summary>Writes an alert's firing or resolution to the event log.</summary>
    internal Task RecordAlertAsync(string kind, string subject, string message, string? node, string? service, CancellationToken ct) =>
        RecordAllAsync([NewEvent(kind, subject, message, service: service, node: node)], ct);
}
