using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using VirtualCluster.Replication.Sync;

namespace VirtualCluster.Replication.Volumes;

/// <summary>
/// Meter <c>VirtualCluster.Replication</c>: per volume, <c>vc.replication.lag</c> (s) and <c>vc.replication.behind</c>
/// (bytes) of every running replicator, and counters of syncs, failures and bytes sent.
/// </summary>
public static class ReplicationMetrics
{
    /// <summary>The meter's name, for listeners and exporters.</summary>
    public const string MeterName = "VirtualCluster.Replication";

    private static readonly Meter Meter = new(MeterName);
    private static readonly ConcurrentDictionary<VolumeReplicator, byte> Running = new();
    private static readonly Counter<long> Syncs = Meter.CreateCounter<long>("vc.replication.syncs", description: "Completed volume syncs");
    private static readonly Counter<long> Failures = Meter.CreateCounter<long>("vc.replication.failures", description: "Volume syncs that failed (retried)");
    private static readonly Counter<long> BytesSent = Meter.CreateCounter<long>("vc.replication.sent", unit: "By", description: "Bytes sent to replica holders");

    static ReplicationMetrics()
    {
        Meter.CreateObservableGauge("vc.replication.lag", () => Running.Keys.Select(r => new Measurement<double>(r.Status.LagSeconds, new KeyValuePair<string, object?>("volume", r.VolumeId))),
            unit: "s", description: "Age of the oldest change not yet on the replica holder");
        Meter.CreateObservableGauge("vc.replication.behind", () => Running.Keys.Select(r => new Measurement<long>(r.Status.BytesBehind, new KeyValuePair<string, object?>("volume", r.VolumeId))),
            unit: "By", description: "Bytes of files changed since the last completed sync");
    }

    internal static void Register(VolumeReplicator replicator) => Running[replicator] = 0;

    internal static void Unregister(VolumeReplicator replicator) => Running.TryRemove(replicator, out _);

    internal static void Synced(string volumeId, SyncReport report)
    {
        var tag = new KeyValuePair<string, object?>("volume", volumeId);
        Syncs.Add(1, tag);
        BytesSent.Add(report.BytesSent, tag);
    }

    internal static void Failed(string volumeId) => Failures.Add(1, new KeyValuePair<string, object?>("volume", volumeId));
}
