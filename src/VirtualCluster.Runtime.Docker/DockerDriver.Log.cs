using Microsoft.Extensions.Logging;

namespace VirtualCluster.Runtime.Docker;

// Event ids 3001-3099 belong to the Docker driver.
public sealed partial class DockerDriver
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Started instance {InstanceId} as container {ContainerId} ({Image})")]
    private partial void LogStarted(string instanceId, string containerId, string image);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Instance {InstanceId} failed to start: {Reason}")]
    private partial void LogStartFailed(string instanceId, string reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Instance {InstanceId} (container {ContainerId}) {Outcome}")]
    private partial void LogExited(string instanceId, string containerId, string outcome);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Stopping instance {InstanceId} (container {ContainerId}), grace period {GracePeriod}")]
    private partial void LogStopping(string instanceId, string containerId, TimeSpan gracePeriod);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Could not stop instance {InstanceId} (container {ContainerId}): {Reason}")]
    private partial void LogStopFailed(string instanceId, string containerId, string reason);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Instance {InstanceId} (container {ContainerId}) was stopped but its exit was not observed")]
    private partial void LogExitNotObserved(string instanceId, string containerId);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Information, Message = "Adopted instance {InstanceId}: container {ContainerId} still runs from before the agent restarted")]
    private partial void LogAdopted(string instanceId, string containerId);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Information, Message = "Recovered instance {InstanceId} as exited: {Reason}")]
    private partial void LogRecoveredExited(string instanceId, string reason);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Information, Message = "Removing container {ContainerId} of instance {InstanceId} left from an earlier run ({State})")]
    private partial void LogRemovingLeftoverCore(string containerId, string instanceId, string state);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning, Message = "Could not remove container {ContainerId} of instance {InstanceId}: {Error}")]
    private partial void LogRemoveFailed(string instanceId, string containerId, string error);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Instance {InstanceId}: pulling image {Image}")]
    private partial void LogPulling(string instanceId, string image);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Information, Message = "Instance {InstanceId}: pulled image {Image}")]
    private partial void LogPulled(string instanceId, string image);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Information, Message = "Instance {InstanceId} was stopped before its container started")]
    private partial void LogStartCancelled(string instanceId);

    [LoggerMessage(EventId = 3014, Level = LogLevel.Warning, Message = "Instance {InstanceId} (container {ContainerId}): lost contact with the Docker daemon: {Error}")]
    private partial void LogLost(string instanceId, string containerId, string error);

    [LoggerMessage(EventId = 3015, Level = LogLevel.Warning, Message = "Could not follow the output of instance {InstanceId}: {Error}")]
    private partial void LogOutputFailed(string instanceId, string error);

    [LoggerMessage(EventId = 3016, Level = LogLevel.Warning, Message = "Could not look for containers of an earlier agent process at {Endpoint}: {Error}")]
    private partial void LogRecoveryFailed(string endpoint, string error);

    [LoggerMessage(EventId = 3017, Level = LogLevel.Information, Message = "Docker daemon at {Endpoint} answers")]
    private partial void LogDaemonAvailable(string endpoint);

    [LoggerMessage(EventId = 3018, Level = LogLevel.Warning, Message = "Docker daemon at {Endpoint} does not answer: {Reason}")]
    private partial void LogDaemonUnavailable(string endpoint, string reason);

    private void LogRemovingLeftover(string instanceId, string containerId, string state) => LogRemovingLeftoverCore(containerId, instanceId, state);
}
