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

    [LoggerMessage(2104, LogLevel.Warning, "Control plane at {Url} is unreachable ({Reason}); workloads keep running, retrying")]
    private static partial void LogUnreachable(ILogger logger, string url, string reason);

    [LoggerMessage(2105, LogLevel.Information, "Control plane at {Url} is reachable again")]
    private static partial void LogReconnected(ILogger logger, string url);

    [LoggerMessage(2106, LogLevel.Warning, "Control plane does not know this node ({Reason}); joining again")]
    private static partial void LogRejoining(ILogger logger, string reason);

    [LoggerMessage(2107, LogLevel.Information, "Found instance {InstanceId} from an earlier run: {State}")]
    private static partial void LogRecovered(ILogger logger, string instanceId, string state);

    [LoggerMessage(2108, LogLevel.Error, "--docker on: the Docker daemon at {Endpoint} does not answer; start dockerd, fix --docker-endpoint, or use --docker auto")]
    private static partial void LogDockerRequired(ILogger logger, string endpoint);
}
