using Microsoft.Extensions.Logging;

namespace VirtualCluster.Routing.Signaling;

public sealed partial class SignalingHub
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Signaling peer {Peer} of cluster {Cluster} connected")]
        public static partial void Connected(ILogger logger, string cluster, string peer);

        [LoggerMessage(EventId = 1402, Level = LogLevel.Information, Message = "Signaling peer {Peer} of cluster {Cluster} reconnected; its old connection is closed")]
        public static partial void Replaced(ILogger logger, string cluster, string peer);

        [LoggerMessage(EventId = 1403, Level = LogLevel.Information, Message = "Signaling peer {Peer} of cluster {Cluster} disconnected")]
        public static partial void Disconnected(ILogger logger, string cluster, string peer);

        [LoggerMessage(EventId = 1404, Level = LogLevel.Debug, Message = "Signaling frame from {Peer} of cluster {Cluster} refused ({Code}): {Detail}")]
        public static partial void Refused(ILogger logger, string cluster, string peer, string code, string detail);

        [LoggerMessage(EventId = 1405, Level = LogLevel.Warning, Message = "Signaling peer {Peer} of cluster {Cluster} closed after {Strikes} bad frames in a row")]
        public static partial void Expelled(ILogger logger, string cluster, string peer, int strikes);

        [LoggerMessage(EventId = 1406, Level = LogLevel.Debug, Message = "Signaling connection refused ({Status}): {Reason}")]
        public static partial void Rejected(ILogger logger, int status, string reason);
    }
}
