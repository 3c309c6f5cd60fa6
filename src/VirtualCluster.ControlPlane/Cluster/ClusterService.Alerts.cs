using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Cluster;

/// <summary>A node as the alert rules see it.</summary>
internal sealed record AlertNode(string Name, NodeState State, double Phi);

/// <summary>A service as the alert rules see it: instances it asks for, how many run healthy, and its failover's trouble.</summary>
/// <param name="Failover">Failed instances replaced in a row since the service was last stable for a minute, or null.</param>
internal sealed record AlertService(string Name, int Desired, int Running, FailoverRetryView? Failover = null);

/// <summary>Replacements of a service's failed instances in a row (failover maxAttempts bounds them).</summary>
/// <param name="Attempts">Replacements placed so far.</param>
/// <param name="GaveUp">The bound was reached: failed instances are no longer replaced.</param>
/// <param name="LastFailure">The instance whose failure was replaced last, and why it failed.</param>
internal sealed record FailoverRetryView(int Attempts, bool GaveUp, string LastFailure);

/// <summary>A resource the cluster's capacity forecast says runs out (its use rises, with a clear trend).</summary>
internal sealed record AlertCapacity(string Resource, DateTimeOffset ExhaustedAt, long Capacity, long Used, double TrendPerHour);

/// <summary>What the alert rules see: judged nodes, services, and the names of nodes not judged yet (no heartbeat heard this term).</summary>
internal sealed record AlertFactSet(IReadOnlyList<AlertNode> Nodes, IReadOnlyList<AlertService> Services, IReadOnlySet<string> Unjudged);

// Facts for the alert rules, from the leader's memory (never the store), and their events.
public sealed partial class ClusterService
{
    /// <summary>Nodes and services now, or null while this control plane does not lead (or has not loaded yet).</summary>
    internal AlertFactSet? AlertFacts()
    {
        if (Volatile.Read(ref _term)?.State.Current is not { } snapshot) return null;
        // A node the detector has not heard from yet (it is joining, or this leader just began) is not judged: its
        // first heartbeat is on its way, and "no heartbeat yet" is not "down".
        var present = snapshot.Nodes.Values.Where(n => n.State != NodeState.Left)
            .Select(n => (Node: n, Liveness: _detector.Inspect(n.Id))).ToList();
        var nodes = present.Where(n => n.Liveness.SinceLastHeartbeat is not null)
            .Select(n => new AlertNode(n.Node.Name, LiveState(n.Node), n.Liveness.Phi)).ToList();
        var unjudged = present.Where(n => n.Liveness.SinceLastHeartbeat is null).Select(n => n.Node.Name).ToHashSet(StringComparer.Ordinal);
        var failovers = _failoverViews;
        var services = snapshot.Services.Values
            .Select(s => new AlertService(s.Spec.Name, s.Spec.Replicas, snapshot.InstancesOf(s.Spec.Name).Count(i => i.State == InstanceState.Running),
                failovers.GetValueOrDefault(s.Spec.Name)))
            .ToList();
        return new AlertFactSet(nodes, services, unjudged);
    }

    /// <summary>
    /// The resources the cluster's forecast (the same as <c>GET /v1/capacity</c>'s cluster rows) says run out, with
    /// when; empty while this control plane does not lead or has too little history for a clear trend.
    /// </summary>
    internal IReadOnlyList<AlertCapacity> CapacityFacts()
    {
        if (Volatile.Read(ref _term)?.State.Current is not { } snapshot) return [];
        var rules = _options.ForecastRules();
        var forecasts = new List<IReadOnlyList<ResourceForecast>>();
        foreach (var node in snapshot.Nodes.Values)
        {
            if (node.State == NodeState.Left) continue;
            var samples = History.Node(node.Id);
            if (samples.Count > 0) forecasts.Add(CapacityForecaster.Forecast(samples, rules));
        }
        if (forecasts.Count == 0) return [];
        return [.. CapacityForecaster.Cluster(forecasts, Now, rules)
            .Where(r => r.Trend == ForecastTrend.Rising && r.ExhaustedAt is not null)
            .Select(r => new AlertCapacity(r.Resource, r.ExhaustedAt!.Value, r.Capacity, r.Used, r.TrendPerHour))];
    }

    /// <summary>A cluster-wide setting (the user's alert rules live in one).</summary>
    internal Task<string?> GetSettingAsync(string key, CancellationToken ct) => Store.GetSettingAsync(key, ct);

    /// <summary>Replaces a cluster-wide setting if it still holds <paramref name="expected"/>.</summary>
    internal Task<bool> ReplaceSettingAsync(string key, string? expected, string value, CancellationToken ct) => Store.ReplaceSettingAsync(key, expected, value, ct);

    /// <summary>Writes an alert's firing or resolution to the event log.</summary>
    internal Task RecordAlertAsync(string kind, string subject, string message, string? node, string? service, CancellationToken ct) =>
        RecordAllAsync([NewEvent(kind, subject, message, service: service, node: node)], ct);
}
