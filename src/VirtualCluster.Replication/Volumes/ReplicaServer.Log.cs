using Microsoft.Extensions.Logging;

namespace VirtualCluster.Replication.Volumes;

public sealed partial class ReplicaServer
{
    [LoggerMessage(EventId = 9101, Level = LogLevel.Debug, Message = "Replica of volume {VolumeId} synced from {Sender} (epoch {Epoch})")]
    private static partial void LogSynced(ILogger logger, string volumeId, string sender, long epoch);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Warning, Message = "Replica sync of volume {VolumeId} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string volumeId, string reason);
}
