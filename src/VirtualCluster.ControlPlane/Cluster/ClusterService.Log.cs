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

        [LoggerMessage(1004, LogLevel.Warning, "Node {Name} is down: no heartbeat for {Silence} (phi {Phi})")]
        public static partial void NodeDown(ILogger logger, string name, string silence, string phi);

        [LoggerMessage(1005, LogLevel.Information, "Node {Name} left the cluster")]
        public static partial void NodeLeft(ILogger logger, string name);

        [LoggerMessage(1006, LogLevel.Information, "Draining node {Name}")]
        public static partial void Draining(ILogger logger, string name);

        [LoggerMessage(1007, LogLevel.Warning, "Gave up replacing failed instances of {Service} after {Attempts} attempt(s)")]
        public static partial void GaveUp(ILogger logger, string service, int attempts);

        [LoggerMessage(1008, LogLevel.Warning, "Agent of {Node} reports: {Message}")]
        public static partial void AgentEvent(ILogger logger, string node, string message);

        [LoggerMessage(1009, LogLevel.Debug, "Plan for {Service} refused, planning again: {Conflict}")]
        public static partial void PlanConflict(ILogger logger, string service, string conflict);

        [LoggerMessage(1010, LogLevel.Error, "Secrets of {Service} cannot be opened with this cluster's key ({Reason}); its instances start without them")]
        public static partial void SecretsUnreadable(ILogger logger, string service, string reason);

        [LoggerMessage(1011, LogLevel.Information, "Replica holders of {Instance}: {Holders}")]
        public static partial void ReplicaHolders(ILogger logger, string instance, string holders);
    }
}
