using Microsoft.Extensions.Logging;
using VirtualCluster.Agent.Replication;
using VirtualCluster.Api;

namespace VirtualCluster.Agent.Supervision;

// Replicated volumes: a new instance whose volume set this node holds replicas of starts on them (a failover here).
internal sealed partial class InstanceSupervisor
{
    /// <summary>This node's replica server, when it runs one.</summary>
    public ReplicaHost? Replicas { get; init; }

    /// <summary>The replicators of this node's instances, when replication is on.</summary>
    public VolumeReplication? Volumes { get; init; }

    /// <summary>
    /// Before an instance starts for the first time here: each replicated volume that does not exist yet is restored
    /// from this node's replica of it. A restart finds its volume and keeps it as it is. An instance that inherited its
    /// volume set (a failover placed it here because this node holds a completed sync) must find that replica: starting
    /// empty would push an empty volume, with a newer epoch, over the other holders' good replicas. So the start fails
    /// instead, and the control plane replaces it elsewhere with a volume set of its own.
    /// </summary>
    private void SeedVolumes(Assignment a)
    {
        if (a.VolumeSet is null || Volumes is null) return;
        var inherited = a.VolumeSet != a.InstanceId;
        foreach (var volume in a.Spec.Volumes.Where(v => v.Replicas > 0))
        {
            var target = Volumes.VolumePath(a.InstanceId, volume.Name);
            if (Directory.Exists(target)) continue;
            try
            {
                if (Replicas?.RestoreTo(VolumeIds.For(a.VolumeSet, volume.Name), target) is not { } epoch)
                {
                    if (inherited) throw new IOException($"this node holds no replica of volume set {a.VolumeSet} to start from");
                    continue;
                }
                var files = Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories).Count();
                LogSeeded(_logger, a.InstanceId, volume.Name, epoch);
                RecordEvent(EventKinds.VolumeSeeded, a.InstanceId,
                    $"volume {volume.Name} of {a.InstanceId} restored from this node's replica ({files} file(s), written by epoch {epoch}) before the start");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or VirtualCluster.Replication.ReplicationException)
            {
                // Starting empty would hide the loss; the start fails and is retried like any failed start.
                throw new IOException($"cannot restore volume {volume.Name} from this node's replica: {e.Message}", e);
            }
        }
    }

    // Per instance, volume and holder: whether syncs failed at the last report, so only changes become events.
    private readonly Dictionary<(string Instance, string Volume, string Holder), bool> _syncFailing = new();

    /// <summary>
    /// Sync reports of an instance's replicated volumes, for its heartbeat report. A holder whose syncs start failing,
    /// or work again, is an event (a full disk on the holder has its own kind), so the event log shows when the
    /// replicas stopped following and why, not only the replica table's current error.
    /// </summary>
    private IReadOnlyList<VolumeSyncReport>? SyncReports(string instanceId)
    {
        var reports = Volumes?.Report(instanceId);
        lock (_syncFailing)
        {
            if (_syncFailing.Count > 10_000) _syncFailing.Clear(); // instances that went away; at worst one event repeats
            NoteSyncChanges(instanceId, reports);
        }
        return reports;
    }

    private void NoteSyncChanges(string instanceId, IReadOnlyList<VolumeSyncReport>? reports)
    {
        foreach (var r in reports ?? [])
        {
            var key = (instanceId, r.Volume, r.Holder);
            var failing = r.LastError is not null;
            var before = _syncFailing.TryGetValue(key, out var was) && was;
            _syncFailing[key] = failing;
            if (failing == before) continue;
            if (!failing)
                RecordEvent(EventKinds.VolumeSyncRecovered, instanceId, $"volume {r.Volume} of {instanceId} syncs to holder {r.Holder} again (sync {r.Sequence})");
            else if (IsDiskFull(r.LastError!))
                RecordEvent(EventKinds.VolumeHolderFull, instanceId, $"volume {r.Volume} of {instanceId} cannot sync to holder {r.Holder}: its disk is full ({r.LastError}); free space there, or remove that node so another holder is chosen");
            else
                RecordEvent(EventKinds.VolumeSyncFailed, instanceId, $"volume {r.Volume} of {instanceId} cannot sync to holder {r.Holder}: {r.LastError}");
        }
        if (reports is null) foreach (var key in _syncFailing.Keys.Where(k => k.Instance == instanceId).ToList()) _syncFailing.Remove(key);
    }

    // ENOSPC and EDQUOT as .NET words them on Linux ("No space left on device", "Disk quota exceeded").
    private static bool IsDiskFull(string error) =>
        error.Contains("No space left on device", StringComparison.OrdinalIgnoreCase) || error.Contains("quota exceeded", StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(2008, LogLevel.Information, "Restored volume {Volume} of {InstanceId} from the local replica (epoch {Epoch})")]
    private static partial void LogSeeded(ILogger logger, string instanceId, string volume, long epoch);
}
