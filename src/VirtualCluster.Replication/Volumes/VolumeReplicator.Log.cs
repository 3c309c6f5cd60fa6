using Microsoft.Extensions.Logging;

namespace VirtualCluster.Replication.Volumes;

public sealed partial class VolumeReplicator
{
    [LoggerMessage(EventId = 9111, Level = LogLevel.Debug, Message = "Volume {VolumeId}: sync {Sequence} committed ({Files} files, {Bytes} bytes sent)")]
    private static partial void LogSynced(ILogger logger, string volumeId, long sequence, int files, long bytes);

    [LoggerMessage(EventId = 9112, Level = LogLevel.Warning, Message = "Volume {VolumeId}: sync failed, retrying: {Reason}")]
    private static partial void LogSyncFailed(ILogger logger, string volumeId, string reason);
}
