using Microsoft.Extensions.Logging;

namespace VirtualCluster.Runtime.Process;

public sealed partial class ProcessDriver
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Started instance {InstanceId} as pid {Pid}: {Command}")]
    private partial void LogStarted(string instanceId, int pid, string command);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Instance {InstanceId} failed to start: {Reason}")]
    private partial void LogStartFailed(string instanceId, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Instance {InstanceId} (pid {Pid}) {Outcome}")]
    private partial void LogExited(string instanceId, int pid, string outcome);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Stopping instance {InstanceId} (pid {Pid}): SIGTERM to {Count} processes, grace period {GracePeriod}")]
    private partial void LogStopping(string instanceId, int pid, int count, TimeSpan gracePeriod);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Instance {InstanceId} (pid {Pid}) did not stop within {GracePeriod}; killing {Count} processes")]
    private partial void LogKilling(string instanceId, int pid, TimeSpan gracePeriod, int count);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Instance {InstanceId} (pid {Pid}) was killed but its exit was not observed within {Timeout}")]
    private partial void LogExitNotObserved(string instanceId, int pid, TimeSpan timeout);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "Adopted instance {InstanceId}: pid {Pid} still runs from before the agent restarted")]
    private partial void LogAdopted(string instanceId, int pid);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "Recovered instance {InstanceId} as exited: {Reason}")]
    private partial void LogRecoveredExited(string instanceId, string reason);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "Ignoring pid file {Path}: missing fields or unreadable")]
    private partial void LogBadPidFile(string path);

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Could not write pid file of instance {InstanceId}; it cannot be adopted after an agent restart: {Error}")]
    private partial void LogPidFileFailed(string instanceId, string error);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Adopted instance {InstanceId} (pid {Pid}) {Outcome}")]
    private partial void LogAdoptedExited(string instanceId, int pid, string outcome);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "Could not write output file {Path}; output is kept in memory only: {Error}")]
    internal static partial void LogOutputFileFailed(ILogger logger, string path, string error);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Could not read or track captured output {Path}: {Error}")]
    internal static partial void LogCaptureFailed(ILogger logger, string path, string error);
}
