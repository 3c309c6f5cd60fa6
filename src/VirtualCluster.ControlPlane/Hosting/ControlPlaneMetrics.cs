using System.Diagnostics.Metrics;

namespace VirtualCluster.ControlPlane;

/// <summary>
/// Counters of the control plane, on the meter "VirtualCluster.ControlPlane" (collect them with
/// OpenTelemetry or `dotnet-counters monitor --counters VirtualCluster.ControlPlane`).
/// </summary>
public sealed class ControlPlaneMetrics
{
    /// <summary>Name of the meter.</summary>
    public const string MeterName = "VirtualCluster.ControlPlane";

    private readonly Counter<long> _deploys;
    private readonly Counter<long> _heartbeats;
    private readonly Counter<long> _placements;
    private readonly Counter<long> _nodesDown;
    private readonly Counter<long> _refused;
    private readonly Meter _meter;

    public ControlPlaneMetrics(IMeterFactory meterFactory)
    {
        var meter = _meter = meterFactory.Create(MeterName);
        _deploys = meter.CreateCounter<long>("vcluster.deploys", description: "Deploy requests by outcome (created, unchanged, invalid, conflict, unplaceable).");
        _heartbeats = meter.CreateCounter<long>("vcluster.heartbeats", description: "Agent heartbeats received.");
        _placements = meter.CreateCounter<long>("vcluster.placements", description: "Instances placed, by reason (deploy, replace).");
        _nodesDown = meter.CreateCounter<long>("vcluster.nodes.down", description: "Times a node was declared down.");
        _refused = meter.CreateCounter<long>("vcluster.api.refused", description: "API requests refused by authentication (401) or authorization (403), by status.");
    }

    /// <summary>Gauges of what the leader holds now: nodes and instances by state, services, φ per node.</summary>
    internal void Observe(Cluster.ClusterService cluster)
    {
        _meter.CreateObservableGauge("vcluster.nodes", cluster.ObserveNodes, unit: "{node}", description: "Nodes by state (alive, suspect, down, draining, left), as the leader sees them.");
        _meter.CreateObservableGauge("vcluster.instances", cluster.ObserveInstances, unit: "{instance}", description: "Service instances by state.");
        _meter.CreateObservableGauge("vcluster.services", cluster.ObserveServices, unit: "{service}", description: "Deployed services.");
        _meter.CreateObservableGauge("vcluster.node.phi", cluster.ObservePhi, description: "Suspicion level (phi) of each node's failure detector: 0 when heartbeats arrive on time, past the suspect and down thresholds when they stop.");
    }

    internal void Deploy(string outcome) => _deploys.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
    internal void Heartbeat() => _heartbeats.Add(1);
    internal void Placed(int count, string reason) => _placements.Add(count, new KeyValuePair<string, object?>("reason", reason));
    internal void NodeDown() => _nodesDown.Add(1);
    internal void Refused(int status) => _refused.Add(1, new KeyValuePair<string, object?>("status", status));
}
