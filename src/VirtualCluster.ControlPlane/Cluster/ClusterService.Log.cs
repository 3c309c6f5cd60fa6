using Microsoft.Extensions.Logging;

namespace VirtualCluster.ControlPlane.Cluster;

public sealed partial class ClusterService
{
    private static partial class Log
    {
        [LoggerMessage(1001, LogLevel.Information, "Deployed {Service} with {Count} instance(s)")]
        public static partial void Deployed(ILogger logger, string service, int count);

        [LoggerMessage(1002, LogLevel.Warning, "Could not place {Service}: {Reason}")]
        public static partial void PlacementFailed(ILogger logger, string service, string reason);

        [LoggerMessage(1003, LogLevel.Information, "Node {Name} joined as {NodeId}")]
        public static partial void NodeJoined(ILogger logger, string name, string nodeId);

        [LoggerMessage(1004, LogLevel.Warning, "Node {Name} is down")]
        public static partial void NodeDown(ILogger logger, string name);
    }
}
