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

    public ControlPlaneMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _deploys = meter.CreateCounter<long>("vcluster.deploys", description: "Deploy requests by outcome (created, unchanged, invalid, conflict, unplaceable).");
        _heartbeats = meter.CreateCounter<long>("vcluster.heartbeats", description: "Agent heartbeats received.");
        _placements = meter.CreateCounter<long>("vcluster.placements", description: "Instances placed, by reason (deploy, replace).");
        _nodesDown = meter.CreateCounter<long>("vcluster.nodes.down", description: "Times a node was declared down.");
        _refused = meter.CreateCounter<long>("vcluster.api.refused", description: "API requests refused by authentication (401) or authorization (403), by status.");
    }

    internal void Deploy(string outcome) => _deploys.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
    internal void Heartbeat() => _heartbeats.Add(1);
    internal void Placed(int count, string reason) => _placements.Add(count, new KeyValuePair<string, object?>("reason", reason));
    internal void NodeDown() => _nodesDown.Add(1);
    internal void Refused(int status) => _refused.Add(1, new KeyValuePair<string, object?>("status", status));
}
