using Microsoft.Extensions.Logging;

namespace VirtualCluster.Agent.Supervision;

internal sealed partial class InstanceSupervisor
{
    [LoggerMessage(2001, LogLevel.Information, "Started {InstanceId} (pid {Pid})")]
    private static partial void LogStarted(ILogger logger, string instanceId, int? pid);

    [LoggerMessage(2002, LogLevel.Information, "Adopted running {InstanceId}")]
    private static partial void LogAdopted(ILogger logger, string instanceId);

    [LoggerMessage(2003, LogLevel.Warning, "{InstanceId} {What}; restart {Count}")]
    private static partial void LogRestarting(ILogger logger, string instanceId, string what, int count);

    [LoggerMessage(2004, LogLevel.Warning, "{InstanceId} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string instanceId, string reason);

    [LoggerMessage(2005, LogLevel.Information, "Stopping {InstanceId}: {Why}")]
    private static partial void LogStopping(ILogger logger, string instanceId, string why);

    [LoggerMessage(2006, LogLevel.Warning, "Fenced {InstanceId}: no answer from the control plane for {Silence:0.0} s, longer than the {Lease:0.0} s lease; stopped it so a replacement never runs beside it")]
    private static partial void LogFenced(ILogger logger, string instanceId, double silence, double lease);

    [LoggerMessage(2007, LogLevel.Warning, "Stopping {InstanceId} failed: {Reason}")]
    private static partial void LogStopFailed(ILogger logger, string instanceId, string reason);
}
