using Microsoft.Extensions.Logging;

namespace VirtualCluster.Agent;

internal sealed partial class AgentService
{
    [LoggerMessage(2101, LogLevel.Information, "Node {Name} joined the cluster as {NodeId}")]
    private static partial void LogJoined(ILogger logger, string name, string nodeId);

    [LoggerMessage(2102, LogLevel.Error, "The control plane refused to let this agent join: {Reason}")]
    private static partial void LogJoinRejected(ILogger logger, string reason);

    [LoggerMessage(2103, LogLevel.Error, "No join token: pass --join-token or --join-token-file (the join.token file of the control plane's data directory)")]
    private static partial void LogNoJoinToken(ILogger logger);

    [LoggerMessage(2104, LogLevel.Warning, "Control plane at {Url} is unreachable ({Reason}); workloads keep running (singletons until the fencing lease runs out), retrying")]
    private static partial void LogUnreachable(ILogger logger, string url, string reason);

    [LoggerMessage(2105, LogLevel.Information, "Control plane at {Url} is reachable again")]
    private static partial void LogReconnected(ILogger logger, string url);

    [LoggerMessage(2106, LogLevel.Warning, "Control plane refused this node's credentials or does not know it ({Reason}); joining again")]
    private static partial void LogRejoining(ILogger logger, string reason);

    [LoggerMessage(2107, LogLevel.Information, "Found instance {InstanceId} from an earlier run: {State}")]
    private static partial void LogRecovered(ILogger logger, string instanceId, string state);

    [LoggerMessage(2108, LogLevel.Error, "--docker on: the Docker daemon at {Endpoint} does not answer; start dockerd, fix --docker-endpoint, or use --docker auto")]
    private static partial void LogDockerRequired(ILogger logger, string endpoint);

    [LoggerMessage(2109, LogLevel.Error, "Supervision pass failed")]
    private static partial void LogSupervisionFailed(ILogger logger, Exception exception);

    [LoggerMessage(2110, LogLevel.Information, "Shutting down: draining this node first ({Count} instance(s))")]
    private static partial void LogDraining(ILogger logger, int count);

    [LoggerMessage(2111, LogLevel.Information, "Drain done ({Blocked} instance(s) stay with failover \"never\", {Waiting} found no room); leaving the cluster")]
    private static partial void LogDrained(ILogger logger, int blocked, int waiting);

    [LoggerMessage(2112, LogLevel.Warning, "Drain did not finish within {Seconds} s ({Moving} instance(s) still moving); stopping anyway, they fail over")]
    private static partial void LogDrainTimedOut(ILogger logger, double seconds, int moving);

    [LoggerMessage(2113, LogLevel.Warning, "Could not drain before shutting down ({Reason}); stopping, the instances fail over")]
    private static partial void LogDrainFailed(ILogger logger, string reason);

    [LoggerMessage(2114, LogLevel.Information, "Left the cluster")]
    private static partial void LogLeft(ILogger logger);

    [LoggerMessage(2115, LogLevel.Warning, "Could not tell the control plane this node leaves ({Reason}); it will be declared down")]
    private static partial void LogLeaveFailed(ILogger logger, string reason);

    [LoggerMessage(2116, LogLevel.Error, "Heartbeat failed unexpectedly; trying again at the next interval")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception exception);

    [LoggerMessage(2117, LogLevel.Debug, "The control plane renewed this node's machine token")]
    private static partial void LogTokenRenewed(ILogger logger);

    [LoggerMessage(2118, LogLevel.Warning, "Could not ask which replicas to keep ({Reason}); none is deleted until the control plane answers")]
    private static partial void LogReplicaCollectFailed(ILogger logger, string reason);
}
